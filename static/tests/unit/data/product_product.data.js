import { ProductProduct } from "@point_of_sale/../tests/unit/data/product_product.data";
import { CRMCOM_SPEND_PRODUCT_ID } from "./pos_config.data";

ProductProduct._records = [
    ...ProductProduct._records,
    {
        id: CRMCOM_SPEND_PRODUCT_ID,
        product_tmpl_id: CRMCOM_SPEND_PRODUCT_ID,
        lst_price: 0,
        standard_price: 0,
        display_name: "CRM.COM Rewards wallet",
        product_tag_ids: [],
        barcode: false,
        default_code: false,
        product_template_attribute_value_ids: [],
        product_template_variant_value_ids: [],
        pos_categ_ids: [],
    },
];

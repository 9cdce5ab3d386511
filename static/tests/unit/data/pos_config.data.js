import { PosConfig } from "@point_of_sale/../tests/unit/data/pos_config.data";

/** The hoot till has CRM.COM Rewards on, with every identification mean and a spend product. */
export const CRMCOM_SPEND_PRODUCT_ID = 9100;

PosConfig._records = PosConfig._records.map((record) => ({
    ...record,
    crmcom_enabled: true,
    crmcom_discount_product_id: CRMCOM_SPEND_PRODUCT_ID,
    crmcom_identify_card: true,
    crmcom_identify_phone: true,
    crmcom_identify_email: false,
    crmcom_identify_number: true,
}));

import { patch } from "@web/core/utils/patch";
import { ResPartner } from "@point_of_sale/../tests/unit/data/res_partner.data";

/** A CRM.COM Rewards participant, and a customer CRM.COM does not know. */
export const CRMCOM_PARTNER_ID = 9200;
export const CRMCOM_OTHER_PARTNER_ID = 9201;
export const PLAIN_PARTNER_ID = 9202;

patch(ResPartner.prototype, {
    _load_pos_data_fields() {
        return [...super._load_pos_data_fields(), "crmcom_participant_number", "crmcom_balance"];
    },
});

const partner = (values) => ({
    street: false,
    street2: false,
    city: false,
    state_id: false,
    country_id: false,
    vat: false,
    lang: "en_US",
    phone: false,
    zip: false,
    email: false,
    barcode: false,
    write_date: "2025-07-03 12:38:12",
    property_product_pricelist: false,
    parent_name: false,
    pos_contact_address: "\n\n  \n",
    invoice_emails: "",
    company_type: "person",
    fiscal_position_id: false,
    crmcom_participant_number: false,
    crmcom_balance: 0,
    ...values,
});

ResPartner._records = [
    ...ResPartner._records,
    partner({
        id: CRMCOM_PARTNER_ID,
        name: "Maria Rewards",
        crmcom_participant_number: "P-000123",
        crmcom_balance: 50,
    }),
    partner({
        id: CRMCOM_OTHER_PARTNER_ID,
        name: "Nikos Rewards",
        crmcom_participant_number: "P-000456",
        crmcom_balance: 5,
    }),
    partner({ id: PLAIN_PARTNER_ID, name: "Walk-in Customer" }),
];

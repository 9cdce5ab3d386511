{
    "name": "CRM.COM Rewards for Point of Sale",
    "summary": "Identify CRM.COM Rewards customers at the till, award and spend their wallet",
    "version": "19.0.1.7.0",
    "category": "Sales/Point of Sale",
    "website": "https://github.com/crmcom-rewards/pos_crmcom_rewards",
    "author": "CRM.COM Rewards for Odoo POS contributors",
    "license": "LGPL-3",
    "depends": ["point_of_sale"],
    "external_dependencies": {"python": ["phonenumbers", "requests"]},
    "data": [
        "security/pos_crmcom_rewards_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "data/product_data.xml",
        "data/barcode_rule_data.xml",
        "views/crmcom_call_log_views.xml",
        "views/crmcom_purchase_views.xml",
        "views/pos_order_views.xml",
        "views/res_partner_views.xml",
        "views/crmcom_connection_views.xml",
        "views/res_config_settings_views.xml",
        "views/pos_config_views.xml",
        "data/ir_cron_product_sync.xml",
        "views/crmcom_product_sync_run_views.xml",
        "views/product_views.xml",
        "views/crmcom_reconciliation_views.xml",
        "data/ir_cron_reconciliation.xml",
        "views/pos_session_views.xml",
        "views/report_saledetails.xml",
        "views/crmcom_rewards_report_views.xml",
    ],
    "demo": [
        "demo/crmcom_demo.xml",
    ],
    "assets": {
        "point_of_sale._assets_pos": [
            "pos_crmcom_rewards/static/src/**/*",
            # The customer display's own app (point_of_sale.customer_display_assets).
            ("remove", "pos_crmcom_rewards/static/src/customer_display/**/*"),
        ],
        "point_of_sale.customer_display_assets": [
            "pos_crmcom_rewards/static/src/customer_display/**/*",
        ],
        "web.assets_tests": [
            "pos_crmcom_rewards/static/tests/tours/**/*",
        ],
        "web.assets_unit_tests": [
            "pos_crmcom_rewards/static/tests/unit/**/*",
        ],
    },
    "installable": True,
}

import { registry } from "@web/core/registry";

function openPointOfSaleSettings() {
    return [
        {
            content: "open the Point of Sale settings",
            trigger: ".settings_tab .tab[data-key='point_of_sale']",
            run: "click",
        },
        {
            content: "the CRM.COM connection is on the page",
            trigger: "#crmcom_connection_setting",
        },
    ];
}

function save() {
    return [
        {
            content: "save, once (the settings reload the page)",
            trigger: ".o_form_button_save",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "saved: the page is clean again",
            trigger: ".o-settings-form-view:not(:has(.o_dirty_warning))",
        },
        ...openPointOfSaleSettings(),
    ];
}

function fill(field, value) {
    return {
        content: `fill ${field}`,
        trigger: `#crmcom_connection_setting div[name='${field}'] input`,
        run: `edit ${value}`,
    };
}

function secretKept(field, hint) {
    return [
        {
            content: `the saved ${field} is not sent to the browser`,
            trigger: `#crmcom_connection_setting div[name='${field}'] input`,
            run() {
                if (this.anchor.value) {
                    throw new Error(`the settings page shows the saved ${field}`);
                }
            },
        },
        {
            content: `the page says a ${field} is saved`,
            trigger: `#crmcom_connection_setting .text-muted:contains(${hint})`,
        },
    ];
}

function logInWith(mode) {
    return {
        content: `log in with ${mode}`,
        trigger: `#crmcom_connection_setting div[name='crmcom_auth_mode'] input[data-value='${mode}']`,
        run: "click",
    };
}

registry.category("web_tour.tours").add("CrmComSettingsTour", {
    url: "/odoo/settings",
    steps: () => [
        ...openPointOfSaleSettings(),
        // An unconnected company: the whole connection and the till in one save.
        {
            content: "connect the company to CRM.COM",
            trigger: "#crmcom_connection_setting input[type='checkbox']:not(:checked)",
            run: "click",
        },
        fill("crmcom_base_url", "https://crm.example.com"),
        fill("crmcom_api_key", "TOUR-WEB-API-KEY"),
        fill("crmcom_unit", "STORE01"),
        {
            content: "turn CRM.COM Rewards on for the till too",
            trigger: "#crmcom_pos_setting input[type='checkbox']:not(:checked)",
            run: "click",
        },
        ...save(),
        ...secretKept("crmcom_api_key", "A key is saved"),
        // To a user name and password, in one save; the key is left as it is.
        logInWith("password"),
        fill("crmcom_organisation", "Coffee Shops Ltd"),
        fill("crmcom_username", "pos.user"),
        fill("crmcom_password", "tour-password"),
        ...save(),
        ...secretKept("crmcom_password", "A password is saved"),
        // And back to the key, in one save, without typing it again.
        logInWith("api_key"),
        ...save(),
        {
            content: "the key is the login again",
            trigger:
                "#crmcom_connection_setting div[name='crmcom_auth_mode'] input[data-value='api_key']:checked",
        },
        ...secretKept("crmcom_api_key", "A key is saved"),
        // Test connection tests what the form shows: saved and tested in one click.
        fill("crmcom_unit", "STORE02"),
        {
            content: "test the connection straight away",
            trigger: "#crmcom_connection_setting button[name='action_crmcom_test_connection']",
            run: "click",
        },
        {
            content: "the test says how it went (the test server is out of reach here)",
            trigger: ".o_notification:contains('CRM.COM connection failed')",
        },
        {
            content: "and no dialog asked to save first",
            trigger: "body:not(:has(.modal))",
        },
    ],
});

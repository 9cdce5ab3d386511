/* Tour steps for the customer display, opened next to the till in the tour's own page. */

/*
 * A tour drives one page: the customer display is opened in an iframe of the till's page, at
 * its own address (/pos_customer_display/<config>/<device>), as a second screen of the till
 * opens it. It is a separate document with its own asset bundle; the till reaches it as it
 * reaches any display, through the BroadcastChannel and the server's bus notification, so
 * what the display shows is what the till sent it.
 */
const FRAME = "iframe.o_crmcom_test_display";
const DISPLAY = `${FRAME}:iframe`;

export function open() {
    return [
        {
            content: "open the customer display next to the till",
            trigger: ".pos",
            run() {
                /* global posmodel */
                const frame = document.createElement("iframe");
                frame.className = "o_crmcom_test_display";
                const device = localStorage.getItem("device_uuid") || "crmcom-tour-display";
                frame.src = `/pos_customer_display/${posmodel.config.id}/${device}`;
                // Out of the way of the till: it only watches.
                Object.assign(frame.style, {
                    position: "fixed",
                    right: "0",
                    bottom: "0",
                    width: "1000px",
                    height: "640px",
                    zIndex: "2000",
                    pointerEvents: "none",
                    background: "white",
                });
                document.body.appendChild(frame);
            },
        },
        {
            content: "the customer display is up",
            trigger: `${DISPLAY} .o_customer_display`,
        },
    ];
}

export function shows(selector, text) {
    return {
        content: `the customer display's ${selector} shows '${text}'`,
        trigger: `${DISPLAY} .o_crmcom_display ${selector}:contains("${text}")`,
    };
}

export function showsNo(selector) {
    return {
        content: `the customer display shows no ${selector}`,
        trigger: `${DISPLAY} .o_crmcom_display:not(:has(${selector}))`,
    };
}

/** Nothing of `texts` anywhere on the display. */
export function neverShows(texts) {
    return {
        content: `the customer display never shows ${texts.join(", ")}`,
        trigger: `${DISPLAY} .o_customer_display`,
        run() {
            const doc = document.querySelector(FRAME).contentDocument;
            const shown = doc.body.innerText;
            for (const text of texts) {
                if (shown.includes(text)) {
                    throw new Error(`the customer display shows '${text}'`);
                }
            }
        },
    };
}

export function hasNoRewards() {
    return {
        content: "the customer display shows no rewards",
        trigger: `${DISPLAY} .o_customer_display:not(:has(.o_crmcom_display))`,
    };
}

export function isPaid() {
    return {
        content: "the customer display thanks the customer",
        trigger: `${DISPLAY} .o_crmcom_display[data-state='paid']`,
    };
}

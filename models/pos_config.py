import math
from contextlib import contextmanager

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..crmcom import (
    PARTICIPANT_FIELDS,
    AuthenticationError,
    BadReplyError,
    CrmComError,
    NotFoundError,
    TransportError,
)
from .crmcom_identifiers import normalise
from .crmcom_messages import plain_error
from .crmcom_parameters import IDENTIFY_FAILURES_PER_MINUTE, RECEIPT_WAIT_SECONDS
from .crmcom_purchase import TillRefusal

IDENTIFICATION_METHODS = ("card", "phone", "email", "number")
# The till's CRM.COM store: where CRM.COM books its sales, and, given by ID, the unit the
# company's credentials log in for. Like the connection, for system administrators only
# (docs/configuration.md, "Who may name a till's store").
STORE_FIELDS = frozenset({"crmcom_unit_key", "crmcom_unit"})


class PosConfig(models.Model):
    _name = "pos.config"
    _inherit = ["pos.config", "crmcom.server.fields.mixin"]

    crmcom_enabled = fields.Boolean(
        string="CRM.COM Rewards",
        help="Identify CRM.COM Rewards customers at this till, award their purchases and let "
        "them spend their wallet.",
    )
    crmcom_identify_card = fields.Boolean(string="Identify by card number", default=True)
    crmcom_identify_phone = fields.Boolean(string="Identify by phone", default=True)
    crmcom_identify_email = fields.Boolean(string="Identify by e-mail", default=True)
    crmcom_identify_number = fields.Boolean(string="Identify by participant number", default=True)
    # What the till's identify dialog offers, in order: [{"key", "label", "placeholder"}].
    crmcom_identification_choices = fields.Json(compute="_compute_crmcom_identification_choices")
    # How long the till waits after payment for the award its receipt prints (a setting).
    crmcom_receipt_wait_seconds = fields.Integer(
        string="Wait for the award on the receipt (seconds)",
        compute="_compute_crmcom_receipt_wait_seconds",
    )
    crmcom_discount_product_id = fields.Many2one(
        "product.product",
        string="Wallet spend product",
        default=lambda self: self.env.ref(
            "pos_crmcom_rewards.product_crmcom_wallet_spend", raise_if_not_found=False
        ),
        domain=[("type", "=", "service")],
        help="Product of the discount line that carries what the customer spent from the wallet.",
    )

    # The till's own CRM.COM store; empty: the company's (its connection's). A chain whose
    # shops are different CRM.COM units names each shop's here.
    crmcom_unit_key = fields.Selection(
        lambda self: self.env["crmcom.connection"]._fields["unit_key"].selection,
        string="Till's store identified by",
        default="alternative_code",
        required=True,
    )
    crmcom_unit = fields.Char(
        string="CRM.COM store (unit) of this till",
        help="The CRM.COM unit that performs this till's sales. Empty: the company's store, "
        "set in the CRM.COM connection.",
    )

    _crmcom_server_fields = frozenset(
        {
            "crmcom_enabled",
            "crmcom_discount_product_id",
            # Where the till's sales are booked in CRM.COM: not for cashiers to move.
            "crmcom_unit_key",
            "crmcom_unit",
            *(f"crmcom_identify_{method}" for method in IDENTIFICATION_METHODS),
        }
    )

    def _crmcom_may_write_server_fields(self):
        # Cashiers may write a till (Odoo lets them); its CRM.COM settings are for Point of
        # Sale managers and administrators (its store for administrators only, see
        # _crmcom_check_server_fields).
        user = self.env.user
        return (
            super()._crmcom_may_write_server_fields()
            or user.has_group("point_of_sale.group_pos_manager")
            or user.has_group("base.group_system")
        )

    def _crmcom_may_set_store(self):
        return self.env.su or self.env.user.has_group("base.group_system")

    def _crmcom_check_server_fields(self, vals):
        checked = super()._crmcom_check_server_fields(vals)
        if (
            STORE_FIELDS.intersection(vals)
            and not self._crmcom_may_set_store()
            and self._crmcom_store_changes(vals)
        ):
            raise AccessError(
                self.env._(
                    "Only system administrators may set the CRM.COM store of a point of "
                    "sale: it decides where CRM.COM books the till's sales, as the CRM.COM "
                    "connection does."
                )
            )
        return checked

    def _crmcom_store_changes(self, vals):
        """Whether ``vals`` (normalised) change the store of a till of ``self``; on create
        (``self`` empty), whether they name one. A key without a store changes nothing."""

        def store(key, unit):
            return (key, unit) if unit else False

        if not self:
            return bool(vals.get("crmcom_unit"))
        return any(
            store(
                vals.get("crmcom_unit_key", config.crmcom_unit_key),
                vals.get("crmcom_unit", config.crmcom_unit),
            )
            != store(config.crmcom_unit_key, config.crmcom_unit)
            for config in self
        )

    @api.model_create_multi
    def create(self, vals_list):
        return super().create([self._crmcom_normalised_unit(vals) for vals in vals_list])

    def write(self, vals):
        return super().write(self._crmcom_normalised_unit(vals))

    @api.model
    def _crmcom_normalised_unit(self, vals):
        if isinstance(vals.get("crmcom_unit"), str):
            vals = {**vals, "crmcom_unit": vals["crmcom_unit"].strip() or False}
        return vals

    def _crmcom_unit_identifier(self):
        """The CRM.COM store of this till's sales: its own, or else the company's."""
        self.ensure_one()
        if self.crmcom_unit:
            return {self.crmcom_unit_key: self.crmcom_unit}
        return self.company_id._crmcom_unit_identifier()

    @api.constrains(
        "crmcom_enabled",
        "crmcom_discount_product_id",
        "company_id",
        *(f"crmcom_identify_{method}" for method in IDENTIFICATION_METHODS),
    )
    def _check_crmcom_rewards(self):
        for config in self.filtered("crmcom_enabled"):
            if not config.company_id._crmcom_is_connected():
                raise ValidationError(
                    self.env._(
                        "Connect %(company)s to CRM.COM Rewards (Point of Sale settings) before "
                        "enabling it on %(pos)s.",
                        company=config.company_id.name,
                        pos=config.name,
                    )
                )
            if not config.crmcom_discount_product_id:
                raise ValidationError(
                    self.env._("Choose the wallet spend product of %(pos)s.", pos=config.name)
                )
            if not config._crmcom_identification_methods():
                raise ValidationError(
                    self.env._(
                        "Allow at least one way to identify CRM.COM customers on %(pos)s.",
                        pos=config.name,
                    )
                )

    def _crmcom_identification_texts(self):
        """What the till shows of each identification method: (button, input placeholder)."""
        return {
            "card": (self.env._("Card number"), self.env._("Scan or type the card number")),
            "phone": (self.env._("Phone"), self.env._("Phone number, e.g. +35799123456")),
            "email": (self.env._("E-mail"), self.env._("E-mail address")),
            "number": (
                self.env._("Participant number"),
                self.env._("CRM.COM participant number"),
            ),
        }

    @api.depends(*(f"crmcom_identify_{method}" for method in IDENTIFICATION_METHODS))
    def _compute_crmcom_identification_choices(self):
        texts = self._crmcom_identification_texts()
        for config in self:
            config.crmcom_identification_choices = [
                {"key": method, "label": texts[method][0], "placeholder": texts[method][1]}
                for method in config._crmcom_identification_methods()
            ]

    def _compute_crmcom_receipt_wait_seconds(self):
        self.crmcom_receipt_wait_seconds = RECEIPT_WAIT_SECONDS.value(self.env)

    def _crmcom_identification_methods(self):
        self.ensure_one()
        return [method for method in IDENTIFICATION_METHODS if self[f"crmcom_identify_{method}"]]

    @api.model
    def _get_special_products(self):
        # The spend product must reach every till, even when not offered for sale there.
        return (
            super()._get_special_products()
            | self.env["pos.config"]
            .search([("crmcom_enabled", "=", True)])
            .crmcom_discount_product_id
        )

    # ------------------------------------------------------------------ till operations
    # Called by the till through the routes of controllers/main.py only (private: not over
    # call_kw). They never raise for CRM.COM trouble: the cashier gets {"ok": False, "error":
    # code, "message": text} and the sale goes on, and whatever was recorded (e.g. an outcome
    # to reconcile) is committed with the request.

    def _crmcom_identify(self, query, method):
        self._crmcom_check_till()
        if method not in self._crmcom_identification_methods():
            return self._crmcom_refusal(
                "invalid", self.env._("This till cannot identify customers that way.")
            )
        query = _clean_text(query)
        if not query:
            return self._crmcom_refusal(
                "invalid",
                self.env._(
                    "Scan or type the customer's card number, phone, e-mail or participant number."
                ),
            )
        quota = self.env["crmcom.identify.quota"]
        keys = self._crmcom_identify_quota_keys()
        minute = quota._take(self.company_id, keys, IDENTIFY_FAILURES_PER_MINUTE.value(self.env))
        if minute is None:
            return self._crmcom_refusal(
                "throttled",
                self.env._(
                    "Too many customers were not found at this till or by this cashier in the "
                    "last minute: wait a minute, then try again, or go on without CRM.COM "
                    "Rewards."
                ),
            )
        # Only phones need the shop's country (reading it costs a few queries).
        query = normalise(method, query, self._crmcom_country_code() if method == "phone" else None)
        identifier = (
            {"number": query}
            if method == "number"
            else {"access_token_identifier": {"authentication_code": query}}
        )
        try:
            with self._crmcom_till_client() as client:
                participant = client.show_participant(identifier, fields=PARTICIPANT_FIELDS)
        except CrmComError as exc:
            # Only CRM.COM's "nobody has this" tells anything about which cards exist.
            if not isinstance(exc, NotFoundError):
                quota._give_back(keys, minute)
            return self._crmcom_error(exc, query)
        quota._give_back(keys, minute)
        if participant.get("life_cycle_state") == "TERMINATED":
            return self._crmcom_refusal(
                "terminated",
                self.env._(
                    "The CRM.COM Rewards membership of %(number)s has ended.",
                    number=participant.get("number"),
                ),
            )
        partners = self.env["res.partner"].sudo()
        partner = partners._crmcom_find_or_create(participant, self.company_id)
        return {
            "ok": True,
            "partner_id": partner.id,
            "participant_number": participant["number"],
            "name": partner.name,
            "balance": partner.crmcom_balance,
            "spend_blocked": partner.crmcom_spend_blocked,
            "currency": partner.crmcom_wallet_currency or self.currency_id.name,
        }

    def _crmcom_preview(self, order):
        self._crmcom_check_till()
        basket, refusal = self._crmcom_basket(order)
        if refusal:
            return refusal
        purchases = self.env["crmcom.purchase"]
        company = self.company_id
        company.fetch(["currency_id"])  # what the figures are rounded in, not the whole company
        lines = purchases._product_lines(basket["lines"], company.currency_id)
        try:
            with self._crmcom_till_client() as client:
                preview = client.preview_purchase(
                    {"rewards_participant_identifier": {"number": basket["number"]}},
                    unit=self._crmcom_unit_identifier(),
                    performed_on=fields.Datetime.now(),
                    lines=lines,
                )
        except CrmComError as exc:
            return self._crmcom_error(exc)
        total = sum(line["total_amount"] for line in lines)
        minimum = float(preview.get("minimum_spend_amount_per_transaction") or 0)
        maximum = preview.get("maximum_spend_amount_per_transaction")
        allowed = preview.get("allow_spending", True)
        spendable = float(preview.get("total_additional_spend_amount") or 0)
        if maximum is not None:
            spendable = min(spendable, float(maximum))
        spendable = min(spendable, total)
        if not allowed or spendable < minimum or spendable <= 0:
            spendable = 0.0
        if self._crmcom_other_currency(basket["partner"]):
            spendable = 0.0  # what CRM.COM's conversion would give is unknown
        currency = self.company_id.currency_id
        balance = currency.round(float(preview.get("wallet_balance") or 0))
        return {
            "ok": True,
            "award": currency.round(float(preview.get("total_award_amount") or 0)),
            # The one figure the till shows, offers and checks the cashier's amount against.
            "spendable": currency.round(spendable),
            # More than the wallet holds: CRM.COM lets this sale's own award be spent.
            "includes_award": currency.compare_amounts(spendable, balance) > 0,
            "min_spend": currency.round(minimum),
            "max_spend": currency.round(float(maximum)) if maximum is not None else None,
            "balance": balance,
            "allow_spending": bool(allowed),
            "spend_blocked": basket["partner"].crmcom_spend_blocked,
        }

    def _crmcom_spend(self, order, amount):
        self._crmcom_check_till()
        basket, refusal = self._crmcom_basket(order)
        if refusal:
            return refusal
        if wallet_currency := self._crmcom_other_currency(basket["partner"]):
            return self._crmcom_refusal(
                "currency",
                self.env._(
                    "This customer's wallet is in %(wallet)s and this till sells in "
                    "%(till)s: CRM.COM Rewards cannot convert, so the wallet cannot be spent "
                    "here.",
                    wallet=wallet_currency,
                    till=self.currency_id.name,
                ),
            )
        currency = self.company_id.currency_id
        amount = _clean_amount(amount)
        lines = self.env["crmcom.purchase"]._product_lines(basket["lines"])
        total = currency.round(sum(line["total_amount"] for line in lines))
        if amount is None or currency.round(amount) <= 0 or currency.round(amount) > total:
            return self._crmcom_refusal(
                "amount",
                self.env._(
                    "Enter an amount more than 0 and at most the order total (%(total)s).",
                    total=currency.format(total),
                ),
            )
        if not self._crmcom_order_is_open(basket["uuid"]):
            return self._crmcom_refusal(
                "invalid", self.env._("This order cannot be sent to CRM.COM.")
            )
        amount = currency.round(amount)
        purchases = self.env["crmcom.purchase"].sudo()
        try:
            purchase = purchases._spend_at_till(self, basket, amount)
        except TillRefusal as exc:
            return self._crmcom_refusal(exc.code, exc.args[0])
        except CrmComError as exc:
            return self._crmcom_error(exc)
        return self._crmcom_spend_result(purchase, amount)

    def _crmcom_other_currency(self, partner):
        """The currency of ``partner``'s wallet when it is not the till's, else False."""
        wallet = partner.crmcom_wallet_currency
        return wallet if wallet and wallet != self.currency_id.name else False

    def _crmcom_order_is_open(self, uuid):
        """Whether the order ``uuid`` is this till's to spend on: Odoo has not received it
        as paid, and a draft of it (kept on the server by some tills) is of this session."""
        orders = self.env["pos.order"].sudo().search([("uuid", "=", uuid)])
        if not orders:
            return True
        session = self._crmcom_current_session()
        return all(
            order.state == "draft" and order.config_id == self and order.session_id == session
            for order in orders
        )

    def _crmcom_spend_result(self, purchase, requested=None):
        return {
            "ok": True,
            "spent": purchase.spent,
            "requested": requested or purchase.requested_spend,
            "awarded": purchase.awarded,
            "balance_after": purchase.balance_after if purchase.balance_known else None,
            "wallet_currency": purchase.wallet_currency or None,
            "purchase_number": purchase.crmcom_number,
            "spend_number": purchase.spend_number,
        }

    def _crmcom_cancel_spend(self, order_uuid):
        self._crmcom_check_till()
        uuid = _clean_text(order_uuid)
        if not uuid:
            return self._crmcom_refusal(
                "invalid", self.env._("This order cannot be sent to CRM.COM.")
            )
        try:
            self.env["crmcom.purchase"].sudo()._cancel_at_till(self, uuid)
        except CrmComError as exc:
            return self._crmcom_error(exc)
        return {"ok": True}

    def _crmcom_award(self, order_uuid):
        """What the receipt of this till's paid order ``order_uuid`` prints: its award sent
        to CRM.COM now, when the outbox has not done it yet, waiting for CRM.COM the
        receipt's wait at most. Beyond that the outbox sends it, as for any sale."""
        self._crmcom_check_till()
        uuid = _clean_text(order_uuid)
        order = (
            self.env["pos.order"]
            .sudo()
            .search(
                [("uuid", "=", uuid), ("config_id", "=", self.id), ("state", "!=", "draft")],
                limit=1,
            )
            if uuid
            else None
        )
        if not order:
            return self._crmcom_refusal(
                "invalid", self.env._("This order cannot be sent to CRM.COM.")
            )
        purchase = order.crmcom_purchase_id
        if not purchase:
            return {"ok": True, "state": False}
        return {"ok": True, **purchase._submit_for_receipt(RECEIPT_WAIT_SECONDS.value(self.env))}

    def _crmcom_refund_share(self, order_id, lines):
        """What a refund of ``lines`` (``[[line id, quantity], ...]``) of the paid order
        ``order_id`` gives back to the wallet: the till puts it on the refund."""
        self._crmcom_check_till()
        invalid = self._crmcom_refusal("invalid", self.env._("This refund cannot be checked."))
        if type(order_id) is not int or not isinstance(lines, list) or len(lines) > MAX_LINES:
            return invalid
        order = self.env["pos.order"].sudo().browse(order_id).exists()
        if not order or order.company_id != self.company_id or order.state == "draft":
            return invalid
        returning = {}
        for item in lines:
            if not isinstance(item, list) or len(item) != 2 or type(item[0]) is not int:
                return invalid
            line = order.lines.filtered(lambda line, line_id=item[0]: line.id == line_id)
            qty = _clean_amount(item[1])
            if not line or qty is None or qty < 0:
                return invalid
            returning[line] = returning.get(line, 0.0) + qty
        return {"ok": True, "wallet": order._crmcom_wallet_share_of(returning)}

    @contextmanager
    def _crmcom_till_client(self, unit=None):
        """The client of a till request: logged on this till, logged in for the store
        ``unit`` (default the till's; a sale already made keeps its own), and bounded by the
        timeout of the connection, retries and logins included, however slowly CRM.COM
        answers."""
        connection = self.company_id._crmcom_connection()
        with (
            self.company_id._crmcom_client(
                related=self, unit=unit or self._crmcom_unit_identifier()
            ) as client,
            client.deadline(connection.timeout),
        ):
            yield client

    def _crmcom_country_code(self):
        """The country of the phone numbers cashiers type without a country code: the
        shop's (the till's company address), as people write them there."""
        return self.company_id.country_id.code or None

    def _crmcom_identify_quota_keys(self):
        """What failed identifications are counted against: this till, and the user (who
        could otherwise go from one open till of the company to the next)."""
        return [f"{self._name},{self.id}", f"res.users,{self.env.uid}"]

    def _crmcom_check_till(self):
        """Only a user with an open session of this (CRM.COM-enabled) till may call."""
        self.ensure_one()
        self.check_access("read")
        session = self._crmcom_current_session()
        if not self.company_id._crmcom_is_connected():
            # Disconnected since the till was turned on: plain words, not a settings error.
            raise UserError(
                self.env._(
                    "CRM.COM Rewards is off: %(company)s is not connected to CRM.COM.",
                    company=self.company_id.name,
                )
            )
        if not self.crmcom_enabled or not session or session.state != "opened":
            raise AccessError(
                self.env._("CRM.COM Rewards needs an open session of %(pos)s.", pos=self.name)
            )

    def _crmcom_current_session(self):
        """``current_session_id`` (the newest session not closed, rescue sessions aside) in
        one narrow query: the computed field reads every session of the till in full, on
        every till request."""
        return (
            self.env["pos.session"]
            .sudo()
            .search_fetch(
                [("config_id", "=", self.id), ("state", "!=", "closed"), ("rescue", "=", False)],
                ["state"],
                order="id desc",
                limit=1,
            )
        )

    def _crmcom_basket(self, order):
        """Validate the basket the till sends: ``(basket, None)``, or ``(None, refusal)``."""
        invalid = self._crmcom_refusal(
            "invalid", self.env._("This order cannot be sent to CRM.COM.")
        )
        if not isinstance(order, dict) or not isinstance(order.get("lines"), list):
            return None, invalid
        uuid = _clean_text(order.get("uuid"))
        reference = _clean_text(order.get("reference")) or uuid
        partner_id = order.get("partner_id")
        if not uuid or type(partner_id) is not int or not 0 < len(order["lines"]) <= MAX_LINES:
            return None, invalid
        # Narrow reads, in one query each: a till request reads only what it checks.
        partner = (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)  # an archived customer is still one
            .search_fetch([("id", "=", partner_id)], BASKET_PARTNER_FIELDS, order="id")
            .with_context(active_test=True)
            .commercial_partner_id
        )
        if partner.company_id and partner.company_id != self.company_id:
            return None, invalid
        if not partner.crmcom_participant_number:
            return None, self._crmcom_refusal(
                "invalid", self.env._("Identify the CRM.COM customer first.")
            )
        spend_product = self.crmcom_discount_product_id
        if not all(
            isinstance(line, dict) and type(line.get("product_id")) is int
            for line in order["lines"]
        ):
            return None, invalid
        products = (
            self.env["product.product"]
            .sudo()
            .with_context(active_test=False)
            .search_fetch(
                [("id", "in", [line["product_id"] for line in order["lines"]])],
                ["active", "company_id", "default_code"],
                order="id",
            )
            .with_context(active_test=True)
        )
        products.product_tmpl_id.fetch(["company_id"])  # a product's company is its template's
        lines = []
        for line in order["lines"]:
            product = products.filtered(lambda product, line=line: product.id == line["product_id"])
            values = [
                _clean_amount(line.get(key))
                for key in ("qty", "price_subtotal", "price_subtotal_incl")
            ]
            if not product or None in values:
                return None, invalid
            if product == spend_product:
                continue
            if product.company_id and product.company_id != self.company_id:
                return None, invalid
            qty, subtotal, subtotal_incl = values
            # CRM.COM books goods sold: nothing archived, no return or free-of-charge line
            # of negative amount, no line without quantity.
            if not product.active or qty <= 0 or subtotal < 0 or subtotal_incl < 0:
                return None, self._crmcom_refusal(
                    "invalid",
                    self.env._(
                        "%(product)s cannot be sent to CRM.COM: only products on sale, with a "
                        "quantity above 0 and a price of 0 or more, earn rewards.",
                        product=product.display_name,
                    ),
                )
            lines.append((product, *values))
        if not lines:
            return None, invalid
        return {
            "uuid": uuid,
            "reference": reference,
            "partner": partner,
            "number": partner.crmcom_participant_number,
            "lines": lines,
        }, None

    def _crmcom_refusal(self, code, message):
        return {
            "ok": False,
            "error": code,
            "title": self._crmcom_error_title(code),
            "message": message,
        }

    def _crmcom_error_title(self, code):
        """The title the till shows over a refusal: the one list of the codes the server
        sends (the till adds its own for what happens before the server is reached)."""
        return {
            "invalid": self.env._("CRM.COM Rewards"),
            "not_found": self.env._("Customer not found"),
            "terminated": self.env._("Membership ended"),
            "blocked": self.env._("Spending blocked"),
            "amount": self.env._("Amount refused"),
            "not_allowed": self.env._("Nothing can be spent"),
            "unreachable": self.env._("CRM.COM unavailable"),
            "locked": self.env._("Wallet already spent"),
            "throttled": self.env._("Too many customers not found"),
            "currency": self.env._("Wallet in another currency"),
        }.get(code, self.env._("CRM.COM Rewards"))

    def _crmcom_error(self, exc, query=None):
        """What the cashier is told about a failed CRM.COM call."""
        if isinstance(exc, NotFoundError):
            return self._crmcom_refusal(
                "not_found",
                self.env._("No CRM.COM Rewards customer matches %(query)s.", query=query)
                if query
                else self.env._("CRM.COM does not know this customer or purchase."),
            )
        if isinstance(exc, (TransportError, BadReplyError)):
            # Rewards follow the sale only if the customer is on the order: when identifying
            # them failed, they are not yet.
            return self._crmcom_refusal(
                "unreachable",
                self.env._(
                    "CRM.COM cannot be reached right now. Finish the sale; to keep the "
                    "customer's rewards, set them as the order's customer from the customer "
                    "list: the rewards are added when CRM.COM is back."
                )
                if query
                else self.env._(
                    "CRM.COM cannot be reached right now. Finish the sale: its rewards "
                    "will be added when CRM.COM is back."
                ),
            )
        if isinstance(exc, AuthenticationError):
            return self._crmcom_refusal(
                "unreachable",
                self.env._(
                    "CRM.COM refused Odoo's credentials: ask your administrator to check "
                    "the CRM.COM settings."
                ),
            )
        codes = {
            "PARTICIPANT_TERMINATED": (
                "terminated",
                self.env._("This customer's CRM.COM Rewards membership has ended."),
            ),
            "SPEND_BLOCKED": (
                "blocked",
                self.env._("Spending is blocked on this customer's wallet."),
            ),
            "SPEND_NOT_ALLOWED": (
                "not_allowed",
                self.env._("CRM.COM does not allow spending that amount on this order."),
            ),
        }
        code, message = codes.get(exc.code, ("invalid", plain_error(self.env, exc)))
        return self._crmcom_refusal(code, message)


MAX_LINES = 1000
MAX_AMOUNT = 1e9
MAX_TEXT = 128


# What the basket check reads of the customer (see _crmcom_basket).
BASKET_PARTNER_FIELDS = [
    "commercial_partner_id",
    "company_id",
    "crmcom_participant_number",
    "crmcom_spend_blocked",
    "crmcom_wallet_currency",
]


def _clean_text(value):
    if not isinstance(value, str):
        return ""
    value = value.strip()
    return value if 0 < len(value) <= MAX_TEXT and value.isprintable() else ""


def _clean_amount(value):
    """A finite number within sane bounds, or None (NaN, infinities, text, booleans...)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):  # text, or an integer too big for a float
        return None
    if not math.isfinite(number) or abs(number) > MAX_AMOUNT:
        return None
    return number

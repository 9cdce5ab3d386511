"""Property (hypothesis): refunds give back what was paid, the way it was paid.

For the goods kept, after every refund: cash paid - cash refunded + wallet spent - wallet
restored = their price; the refund's wallet lines are what CRM.COM restores, never more
than was spent.

A partial refund cancels the order's purchase and submits a replacement for the goods kept,
re-spending the kept goods' share of what was spent (``pos.order._crmcom_replace_purchase``,
the one place that computes it, from the order's real lines and refunds). Random orders,
random spends and random refunds, in one or several steps, through real records; CRM.COM is
played by hand between steps (the replaced purchase cancelled, the replacement posted with
what it asked to re-spend), so no HTTP is involved and the examples are quick.
"""

import itertools
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from odoo import fields
from odoo.tests import tagged

from odoo.addons.point_of_sale.tests.common import TestPoSCommon

from ..models.pos_order import _amount_incl
from .test_properties import BASE

REFUNDS = settings(BASE, max_examples=40)

PRICES = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(500), places=2).map(float)
# Quantities in hundredths: whole units, and weighed goods (0.35 kg).
QUANTITIES = st.one_of(
    st.integers(min_value=1, max_value=5).map(lambda n: n * 100),
    st.integers(min_value=1, max_value=500),
)
LINES = st.lists(
    st.tuples(PRICES, QUANTITIES, st.sampled_from([0.0, 0.05, 0.19])), min_size=1, max_size=4
)
# Orders may also carry a line of negative price (a global discount, a loyalty reward), which
# the customer may keep when returning goods, or return alone; its amount, a share of the goods.
DISCOUNTS = st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=0.5))
# What CRM.COM spent, as a share of the purchase total: none, all of it, or anything between.
SPENT_SHARES = st.one_of(st.just(0.0), st.just(1.0), st.floats(min_value=0.0, max_value=1.0))
# Each refund step: per line, the share of what is still kept that comes back now.
STEPS = st.lists(
    st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=5, max_size=5),
    min_size=1,
    max_size=3,
)


@tagged("post_install", "-at_install")
class TestRefundProperties(TestPoSCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config = cls.basic_config
        cls.spend_product = cls.env.ref("pos_crmcom_rewards.product_crmcom_wallet_spend")
        cls.config.crmcom_discount_product_id = cls.spend_product
        cls.products = [
            cls.create_product(f"Refund property product {index}", cls.categ_basic, 10.0)
            for index in range(4)
        ]
        cls.discount_product = cls.create_product("Refund property discount", cls.categ_basic, 0)
        cls.uuids = itertools.count(1)

    def setUp(self):
        super().setUp()
        self.open_new_session()
        self.currency = self.config.company_id.currency_id

    # ------------------------------------------------------------------ records

    def create_order(self, lines, **values):
        """An order of this session with ``lines`` (commands); its totals do not matter."""
        return self.env["pos.order"].create(
            {
                "session_id": self.pos_session.id,
                "amount_tax": 0.0,
                "amount_total": 0.0,
                "amount_paid": 0.0,
                "amount_return": 0.0,
                **values,
                "lines": lines,
            }
        )

    def paid_order(self, lines, discount_share, spent_share):
        """An order of ``lines`` (and a discount) paid partly from the wallet, and its posted
        purchase."""
        round_ = self.currency.round
        index = next(self.uuids)
        values = []
        for (price, hundredths, tax), product in zip(lines, self.products, strict=False):
            qty = hundredths / 100
            subtotal = round_(price * qty)
            values.append((product, qty, price, subtotal, round_(subtotal * (1 + tax))))
        discount = round_(sum(value[4] for value in values) * discount_share)
        if discount:
            values.append((self.discount_product, 1.0, -discount, -discount, -discount))
        order = self.create_order(
            [
                fields.Command.create(
                    {
                        "name": f"RP{index}-{number}",
                        "product_id": product.id,
                        "qty": qty,
                        "price_unit": price,
                        "price_subtotal": subtotal,
                        "price_subtotal_incl": subtotal_incl,
                    }
                )
                for number, (product, qty, price, subtotal, subtotal_incl) in enumerate(values)
            ],
            uuid=f"refund-property-{index:06d}",
            pos_reference=f"Refund property {index:06d}",
            sequence_number=index,
        )
        purchases = self.env["crmcom.purchase"].sudo()  # the outbox is written by the server only
        purchase = purchases.create(order._crmcom_purchase_values("P0001"))
        spent = round_(purchase.amount_total * spent_share)
        if spent:
            # The wallet discount line, as the till adds it: not goods, never refunded.
            order.lines = [
                fields.Command.create(
                    {
                        "name": f"RP{index}-spend",
                        "product_id": self.spend_product.id,
                        "qty": 1,
                        "price_unit": -spent,
                        "price_subtotal": -spent,
                        "price_subtotal_incl": -spent,
                    }
                )
            ]
        purchase.write(
            {
                "pos_order_id": order.id,
                "state": "posted",
                "crmcom_number": f"PCE{index}",
                "spend_state": "posted" if spent else False,
                "spend_number": f"SR{index}" if spent else False,
                "spent": spent,
            }
        )
        order.sudo().crmcom_purchase_id = purchase
        return order

    def refund(self, order, shares):
        """Refund, for each goods line, ``share`` of what the customer still keeps."""
        goods = order.lines - order._crmcom_spend_lines()
        lines = []
        for line, share in zip(goods, shares, strict=False):
            kept = round((line.qty - line.refunded_qty) * 100)
            hundredths = round(kept * share)
            if hundredths:
                lines.append((line, hundredths / 100))
        if not lines:
            return False
        refund = self.create_order(
            [
                fields.Command.create(
                    {
                        "name": f"{line.name}-refund-{next(self.uuids)}",
                        "product_id": line.product_id.id,
                        "qty": -qty,
                        "price_unit": line.price_unit,
                        "price_subtotal": -line.price_subtotal * qty / line.qty,
                        "price_subtotal_incl": -line.price_subtotal_incl * qty / line.qty,
                        "refunded_orderline_id": line.id,
                    }
                )
                for line, qty in lines
            ],
            pos_reference=f"{order.pos_reference} refund {next(self.uuids)}",
            sequence_number=1,
        )
        refund._crmcom_set_wallet_restored()  # as the till's refund screen adds it
        return refund

    def crmcom_does_its_part(self, replaced, replacement):
        """What the outbox and CRM.COM do next: cancel, then post and re-spend."""
        replaced.write({"state": "cancelled", "spend_state": replaced.spend_state and "cancelled"})
        if replacement:
            respend = replacement.respend_amount
            replacement.write(
                {
                    "state": "posted",
                    "crmcom_number": f"{replaced.crmcom_number}R",
                    "spend_state": "posted" if respend else False,
                    "spent": respend,
                }
            )

    # ------------------------------------------------------------------ the property

    def check_step(self, order, replaced, replacement):
        """One refund step: the replacement re-spends the kept goods' share, and no more."""
        spent = replaced.spent if replaced.spend_state == "posted" else 0.0
        self.assertEqual(replaced.state, "to_cancel")
        if not replacement:
            return spent  # everything came back (a discount line may be kept): all given back
        respend = replacement.respend_amount
        kept = replacement.amount_total
        context = (spent, replaced.amount_total, kept, respend)
        self.assertEqual(replacement.replaces_id, replaced)
        self.assertGreaterEqual(respend, 0.0, context)
        self.assertLessEqual(respend, spent, context)
        self.assertLessEqual(respend, kept, context)
        self.assertTrue(self.currency.is_zero(self.currency.round(respend) - respend), context)
        # The rule: what the sale spent x kept goods / the sale's goods, to the cent; lines
        # of negative price (a discount) take no part in it.
        if spent:
            wallet = order.lines.filtered(lambda line: line.product_id == self.spend_product)
            goods = (order.lines - wallet).filtered(lambda line: line.price_unit > 0)
            # At the amounts Odoo computes from the lines, rounded line by line as the
            # purchase lines are.
            round_ = self.currency.round
            sale_spent = -sum(line.price_unit * line.qty for line in wallet)
            total = sum(round_(line.price_unit * line.qty) for line in goods)
            # What is kept of a line is its total, prorated (as the purchase lines are).
            kept_goods = sum(
                round_(round_(line.price_unit * line.qty) * (1 - line.refunded_qty / line.qty))
                for line in goods
            )
            share = sale_spent * kept_goods / total
            self.assertLessEqual(abs(respend - min(share, spent, kept)), 0.005 + 1e-9, context)
        given_back = spent - respend
        self.assertGreaterEqual(given_back, 0.0, context)
        self.assertLessEqual(given_back, spent, context)
        return given_back

    @REFUNDS
    @given(
        lines=LINES,
        discount_share=DISCOUNTS,
        spent_share=SPENT_SHARES,
        steps=STEPS,
        rest=st.booleans(),
    )
    # A 30.00 desk and a 10.00 lamp, 20.00 spent, the lamp returned.
    @example(
        lines=[(30.0, 100, 0.0), (10.0, 100, 0.0)],
        discount_share=0.0,
        spent_share=0.5,
        steps=[[0, 1]],
        rest=True,
    )
    @example(
        lines=[(0.01, 1, 0.19)], discount_share=0.0, spent_share=1.0, steps=[[0.5]], rest=False
    )
    @example(
        lines=[(9.99, 300, 0.05), (0.01, 100, 0.0)],
        discount_share=0.0,
        spent_share=1.0,
        steps=[[1 / 3]],
        rest=False,
    )
    # Lines worth less than a cent: the goods total is rounded line by line.
    @example(
        lines=[(0.03, 6, 0.0), (0.8, 88, 0.0)],
        discount_share=0.0,
        spent_share=1.0,
        steps=[[0.0, 0.125, 0.0, 0.0, 0.0]],
        rest=False,
    )
    # Every item returned, the discount line kept; or only the discount line returned.
    @example(
        lines=[(30.0, 100, 0.0), (10.0, 100, 0.0)],
        discount_share=0.1,
        spent_share=0.5,
        steps=[[1, 1, 0, 0, 0]],
        rest=False,
    )
    @example(
        lines=[(30.0, 100, 0.0), (10.0, 100, 0.0)],
        discount_share=0.1,
        spent_share=0.5,
        steps=[[0, 0, 1, 0, 0]],  # the third line of this order is its discount
        rest=False,
    )
    def test_refunds_never_give_back_more_than_was_spent(
        self, lines, discount_share, spent_share, steps, rest
    ):
        order = self.paid_order(lines, discount_share, spent_share)
        spent = order.crmcom_purchase_id.sudo().spent
        given_back = 0.0
        # The cash side: what the customer paid, and what each refund gives back in cash
        # and to the wallet (its wallet lines), at the amounts Odoo computes.
        cash = sum(map(_amount_incl, order.lines - order._crmcom_spend_lines())) - spent
        restored = 0.0
        if rest:
            steps = [*steps, [1.0] * 5]  # and at last everything comes back
        for step, shares in enumerate(steps, start=1):
            refund = self.refund(order, shares)
            if not refund:
                continue
            restored_now = sum(map(_amount_incl, refund._crmcom_spend_lines()))
            cash += sum(map(_amount_incl, refund.lines))  # negative: cash given back
            restored += restored_now
            replaced = order.crmcom_purchase_id.sudo()
            refund._crmcom_reverse_refunded()  # as when the refund is paid
            replacement = order.crmcom_purchase_id.sudo() - replaced
            given_back_now = self.check_step(order, replaced, replacement)
            # CRM.COM restores exactly what the refund's wallet lines say.
            self.assertAlmostEqual(given_back_now, restored_now, delta=1e-9)
            given_back += given_back_now
            # For the goods kept: cash paid - cash refunded + wallet spent - restored.
            # To the cent per line and refund: Odoo rounds every refund line on its own.
            rounding = 0.01 * len(order.lines) * step + 1e-9
            kept_price = sum(
                line.price_unit * (line.qty - line.refunded_qty)
                for line in order.lines - order._crmcom_spend_lines()
            )
            self.assertAlmostEqual(cash + spent - restored, kept_price, delta=rounding)
            self.assertGreaterEqual(restored_now, 0.0, "wallet money never becomes cash")
            self.crmcom_does_its_part(replaced, replacement)
            if not replacement:
                break
        current = order.crmcom_purchase_id.sudo()
        still_spent = current.spent if current.state != "cancelled" else 0.0
        # Over every step together: what came back and what is still spent make what was spent.
        self.assertAlmostEqual(given_back + still_spent, spent, places=2)
        self.assertLessEqual(given_back, spent + 1e-9)
        kept = any(
            line.qty - line.refunded_qty > 0.001
            for line in order.lines - order._crmcom_spend_lines()
        )
        if not kept:
            self.assertEqual(current.state, "cancelled", "a full refund keeps no purchase")
            self.assertAlmostEqual(given_back, spent, places=2, msg="a full refund gives all back")

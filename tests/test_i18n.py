"""The customer display is an app of its own (point_of_sale.customer_display_assets), loaded
from its own address by a browser that may have nothing else of the till: what it shows must
still reach translators. Its strings are checked against the translation template."""

from pathlib import Path

from babel.messages import extract
from babel.messages.pofile import read_po

from odoo.tests import tagged

from .common import PlainCase

ADDON = Path(__file__).resolve().parent.parent
DISPLAY = ADDON / "static" / "src" / "customer_display"
POT = ADDON / "i18n" / "pos_crmcom_rewards.pot"


def _terms(path):
    """The terms Odoo's export takes from ``path`` (as odoo.tools.translate does)."""
    if path.suffix == ".js":
        method, keywords = "odoo.tools.babel:extract_javascript", {"_t": None}
    else:
        method, keywords = "odoo.tools.translate:babel_extract_qweb", {"_": None}
    with path.open("rb") as fileobj:
        return {message for _line, message, *_rest in extract.extract(method, fileobj, keywords)}


@tagged("post_install", "-at_install")
class TestCustomerDisplayTranslations(PlainCase):
    def test_every_string_of_the_display_is_in_the_template(self):
        with POT.open("rb") as pot:
            catalog = read_po(pot)
        exported = {message.id: message for message in catalog if message.id}
        files = sorted(DISPLAY.glob("*.js")) + sorted(DISPLAY.glob("*.xml"))
        self.assertTrue(files)
        terms = {term: path for path in files for term in _terms(path)}
        # The greeting and the figures' labels, at least (a template whose text stopped
        # being extracted would pass an empty check).
        for term in ("Hello %(name)s", "Thank you, %(name)s", "Your wallet", "You earned"):
            self.assertTrue(term in terms, f"{term!r} is not a term of the display")
        for term, path in terms.items():
            self.assertTrue(term in exported, f"{path.name}: {term!r} is not in {POT.name}")
            locations = {location for location, _line in exported[term].locations}
            self.assertIn(
                f"addons/pos_crmcom_rewards/static/src/customer_display/{path.name}",
                {location.removeprefix("code:") for location in locations},
                f"{term!r} is not exported from {path.name}",
            )

"""Fixed demo data. Tests and the add-on's demo records depend on these exact values."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from .state import (
    ORGANISATION,
    AccessToken,
    AccountOwner,
    AccountsReceivable,
    ApiKey,
    Participant,
    State,
    SyncDefinition,
    Unit,
    User,
    Wallet,
    stable_id,
)

API_KEY = "SIM-SYSTEM-KEY"
USERNAME = "posuser"
PASSWORD = "secret"
MAIN_UNIT_ID = "UNIT-STORE01"
AIRPORT_UNIT_ID = "UNIT-STORE02"
SYNC_DEFINITION = SyncDefinition("SYNCDEF-1", "ODOO POS SYNC", "ODOO")
ACCESS_TOKEN_PASS_CODE = "1234"  # pass code of every seeded token, for identifier+pass_code


class _DemoParticipant(NamedTuple):
    number: str
    ar_number: str
    owner: tuple[str, str, str]  # first name, last name, title
    wallet: str
    balance: str
    tokens: tuple[tuple[str, str], ...]  # (classification, authentication code)
    terminated: bool = False
    spend_blocked: bool = False


_PARTICIPANTS = (
    _DemoParticipant(
        "P0001", "AR0001", ("John", "Doe", "Mr"), "W0001", "25.00",
        (("CARD", "4000123412341234"), ("PHONE", "+35799123456"),
         ("EMAIL", "john.doe@example.com")),
    ),
    _DemoParticipant(
        "P0002", "AR0002", ("Maria", "Papadopoulou", "Ms"), "W0002", "120.50",
        (("CARD", "4000999988887777"), ("PHONE", "+35799654321"), ("EMAIL", "maria@example.com")),
    ),
    _DemoParticipant(
        "P0003", "AR0003", ("Terry", "Minated", "Mr"), "W0003", "10.00",
        (("CARD", "4000000000000003"),), terminated=True,
    ),
    _DemoParticipant(
        "P0004", "AR0004", ("Blocky", "Spender", "Mr"), "W0004", "40.00",
        (("CARD", "4000000000000004"),), spend_blocked=True,
    ),
    _DemoParticipant(
        "P0005", "AR0005", ("Zero", "Balance", "Ms"), "W0005", "0.00",
        (("CARD", "4000000000000005"),),
    ),
)  # fmt: skip

# A lost card of John Doe: must never identify anyone (only EFFECTIVE tokens count).
LOST_CARD = "4000000000000099"


def seed(state: State) -> None:
    with state.lock:
        for unit in (
            Unit(MAIN_UNIT_ID, "Main Store", "STORE01", "Main Store", "Stores", ORGANISATION),
            Unit(AIRPORT_UNIT_ID, "Airport Store", "STORE02", "Airport Store", "Stores",
                 ORGANISATION),
        ):  # fmt: skip
            state.units[unit.id] = unit
        state.api_keys[API_KEY] = ApiKey(API_KEY, "System Key", ORGANISATION, MAIN_UNIT_ID)
        state.users[USERNAME] = User(USERNAME, PASSWORD, ORGANISATION, MAIN_UNIT_ID)
        state.sync_definitions[SYNC_DEFINITION.id] = SYNC_DEFINITION
        for demo in _PARTICIPANTS:
            _add_participant(state, demo)
        john = state.participant_by("number", "P0001")
        john.access_tokens.append(
            AccessToken(LOST_CARD, "CARD", LOST_CARD, ACCESS_TOKEN_PASS_CODE, "NOT_EFFECTIVE")
        )


def _add_participant(state: State, demo: _DemoParticipant) -> None:
    participant_id = stable_id("participant", demo.number)
    wallet = Wallet(
        stable_id("wallet", demo.wallet), demo.wallet, participant_id, Decimal(demo.balance)
    )
    accounts_receivable = AccountsReceivable(
        stable_id("accounts_receivable", demo.ar_number),
        demo.ar_number,
        AccountOwner(*demo.owner),
        "TERMINATED" if demo.terminated else "ACTIVE",
    )
    state.wallets[wallet.id] = wallet
    state.participants[participant_id] = Participant(
        id=participant_id,
        number=demo.number,
        accounts_receivable=accounts_receivable,
        wallet_id=wallet.id,
        sign_up_on=datetime(2024, 1, 15, 10, 0, 0),
        sign_up_unit_id=MAIN_UNIT_ID,
        access_tokens=[
            AccessToken(code, kind, code, ACCESS_TOKEN_PASS_CODE) for kind, code in demo.tokens
        ],
        life_cycle_state="TERMINATED" if demo.terminated else "EFFECTIVE",
        spend_blocked=demo.spend_blocked,
    )


def credentials_text() -> str:
    """Human summary printed by ``python -m simulator``."""
    lines = [
        f"Web API key : {API_KEY}  (HTTP Basic username, empty password)",
        f"User login  : {USERNAME} / {PASSWORD}  organisation {ORGANISATION}",
        f"Units       : {MAIN_UNIT_ID} (STORE01 Main Store), {AIRPORT_UNIT_ID} (STORE02 Airport)",
        f"Sync def.   : {SYNC_DEFINITION.name} / {SYNC_DEFINITION.alternative_code}"
        f" / {SYNC_DEFINITION.id}",
        f"Participants (access token pass code {ACCESS_TOKEN_PASS_CODE}):",
    ]
    for demo in _PARTICIPANTS:
        name = " ".join(demo.owner[:2])
        flags = " TERMINATED" if demo.terminated else " SPEND BLOCKED" if demo.spend_blocked else ""
        codes = ", ".join(code for _kind, code in demo.tokens)
        lines.append(f"  {demo.number} {name:<20} {demo.balance:>6}  {codes}{flags}")
    return "\n".join(lines)

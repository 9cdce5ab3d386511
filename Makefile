# Development commands for the pos_crmcom_rewards Odoo 19.0 add-on.
# Each target runs one script of tools/ (see the header of each script for
# its environment variables).

.DEFAULT_GOAL := help
.PHONY: help setup run test lint pot clean bench bench-outbox load

help: ## show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-12s %s\n", $$1, $$2}'

setup: ## create the virtualenv with Odoo's and our requirements, install Chromium if missing
	@bash tools/setup.sh

run: ## start the CRM.COM simulator and Odoo with demo data on http://localhost:8069
	@bash tools/run.sh

test: ## setup, lint, install into a fresh database, run the tests (tours included)
	@bash tools/test.sh

lint: ## ruff check, ruff format --check, pylint-odoo
	@bash tools/lint.sh

bench: ## benchmark of the product synchronisation (BENCH_PRODUCTS=N, default 100000)
	@bash tools/bench.sh

bench-outbox: ## the award outbox drained by 1, 2 and 4 senders (BENCH_AWARDS=N, default 10000)
	@bash tools/bench_outbox.sh

load: ## load test: identify and preview through Odoo (2 workers) vs the simulator alone
	@bash tools/load.sh

pot: ## export i18n/pos_crmcom_rewards.pot
	@bash tools/i18n.sh

clean: ## drop the test databases and this checkout's build folder; keeps the virtualenv
	@bash tools/clean.sh

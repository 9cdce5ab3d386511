from odoo import api, fields, models


class CrmcomProductSyncRun(models.Model):
    """One run of the product synchronisation for one company, updated after every batch."""

    _name = "crmcom.product.sync.run"
    _description = "CRM.COM product synchronisation run"
    _order = "id desc"
    _rec_name = "started_at"

    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True, default=lambda s: s.env.company
    )
    trigger = fields.Selection(
        [
            ("cron", "Scheduled"),
            ("requested", "Started from the settings"),
            ("products", "Selected products"),
        ],
        required=True,
        default="cron",
        readonly=True,
    )
    state = fields.Selection(
        [
            ("running", "Running"),
            ("done", "Done"),
            ("done_with_errors", "Done, some products refused"),
            ("interrupted", "Interrupted"),
            ("failed", "Failed"),
            ("skipped", "Skipped: another run in progress"),
        ],
        string="Outcome",
        required=True,
        default="running",
        readonly=True,
        index=True,
    )
    started_at = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    ended_at = fields.Datetime(readonly=True)
    products_total = fields.Integer(
        string="To send",
        readonly=True,
        help="Products new, changed or failed found so far: it grows while the run reads "
        "the catalogue ahead, and is exact when the run ends.",
    )
    products_examined = fields.Integer(string="Handled", readonly=True)
    batches = fields.Integer(readonly=True)
    sent = fields.Integer(readonly=True)
    processed = fields.Integer(readonly=True, help="Accepted by CRM.COM.")
    unprocessed = fields.Integer(readonly=True, help="Refused by CRM.COM, retried next run.")
    message = fields.Text(readonly=True)
    mapping_key = fields.Char(readonly=True, help="The field mapping this run used.")
    snapshot_at = fields.Datetime(
        readonly=True, help="Every write made before this time was seen by this run."
    )
    progress = fields.Float(compute="_compute_progress", string="Progress (%)")
    duration = fields.Float(compute="_compute_progress", string="Duration (s)")

    @api.depends("products_total", "products_examined", "started_at", "ended_at", "state")
    def _compute_progress(self):
        now = fields.Datetime.now()
        for run in self:
            if run.state not in ("running", "interrupted") or not run.products_total:
                run.progress = 100.0 if run.state in ("done", "done_with_errors") else 0.0
            else:
                run.progress = 100.0 * run.products_examined / run.products_total
            end = run.ended_at or now
            run.duration = (end - run.started_at).total_seconds() if run.started_at else 0.0

    @api.model
    def _cron_sync(self):
        """The scheduled action: every company connected to CRM.COM, incrementally."""
        self.env["crmcom.product.sync"]._cron_sync()

    def _summary(self):
        """One sentence for the administrator: what this run did, or why it stopped."""
        self.ensure_one()
        text = self.env._(
            "%(sent)s products sent in %(batches)s batches: %(processed)s accepted, "
            "%(unprocessed)s refused.",
            sent=self.sent,
            batches=self.batches,
            processed=self.processed,
            unprocessed=self.unprocessed,
        )
        return f"{text} {self.message}" if self.message else text

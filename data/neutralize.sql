-- A copy of the database (staging, tests) must never award nor spend real wallets:
-- disconnect every company and till, forget the tokens and the credentials, stop the
-- scheduled actions that call CRM.COM.
UPDATE crmcom_connection
   SET enabled = false, api_key = NULL, password = NULL;
DELETE FROM crmcom_token;
UPDATE pos_config
   SET crmcom_enabled = false;
-- Awards, cancellations and spends still to send are parked: reconnecting the copy to a
-- server must not replay production's sales there (a person may retry one on purpose).
UPDATE crmcom_purchase
   SET state = 'failed', next_attempt_at = NULL,
       last_error = 'Neutralised copy of the database: not sent.'
 WHERE state IN ('pending', 'sending', 'unknown', 'to_cancel');
UPDATE crmcom_purchase
   SET respend_amount = 0, spend_state = NULL
 WHERE state = 'posted' AND (spend_state = 'unknown' OR respend_amount > 0);
UPDATE ir_cron
   SET active = false
 WHERE id IN (SELECT res_id FROM ir_model_data
               WHERE module = 'pos_crmcom_rewards'
                 AND model = 'ir.cron'
                 AND (name IN ('ir_cron_crmcom_submit_purchases', 'ir_cron_crmcom_product_sync')
                      OR name LIKE 'ir\_cron\_crmcom\_submit\_purchases\_%'));

-- A copy of the database (staging, tests) must never award nor spend real wallets:
-- disconnect every company and till, forget the tokens and the credentials, stop the
-- scheduled actions that call CRM.COM.
UPDATE crmcom_connection
   SET enabled = false, api_key = NULL, password = NULL;
DELETE FROM crmcom_token;
UPDATE pos_config
   SET crmcom_enabled = false;
UPDATE ir_cron
   SET active = false
 WHERE id IN (SELECT res_id FROM ir_model_data
               WHERE module = 'pos_crmcom_rewards'
                 AND model = 'ir.cron'
                 AND name IN ('ir_cron_crmcom_submit_purchases', 'ir_cron_crmcom_product_sync'));

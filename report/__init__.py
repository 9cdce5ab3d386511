from . import crmcom_rewards_report

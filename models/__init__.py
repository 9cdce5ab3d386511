from . import crmcom_call_log
from . import crmcom_token
from . import res_company
from . import pos_config
from . import res_config_settings

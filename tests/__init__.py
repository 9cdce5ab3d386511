from . import test_client
from . import test_simulator
from . import test_config
from . import test_access
from . import test_call_log
from . import test_frontend
from . import test_cashier_server
from . import test_refunds

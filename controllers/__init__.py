# The POS reaches CRM.COM through pos.config / pos.order methods called with the POS's own
# RPC (as pos_loyalty does); HTTP routes of this add-on, if any, live here.

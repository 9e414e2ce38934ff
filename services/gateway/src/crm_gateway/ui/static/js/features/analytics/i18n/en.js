// English texts of the analytics feature. bg.js has the same keys; the shared ones are in core/i18n/.
export default {
  // the names of its permissions, on the users page
  'permission.analytics:read': 'Analytics reports over every customer (ABC)',
  'permission.trade-facts:write': 'Send trade facts (sales and returns) from the ERP',
};

// English texts of the analytics feature. bg.js has the same keys; the shared ones are in core/i18n/.
export default {
  // the names of its permissions, on the users page
  'permission.analytics:read': 'Analytics reports over every customer (ABC)',
  'permission.trade-facts:write': 'Send trade facts (sales and returns) from the ERP',
  'permission.analytics:classify': 'Run and confirm ABC classifications, override the class of a customer',

  // header links
  'nav.analyticsAbc': 'ABC analysis',
  'nav.analyticsImport': 'Trade facts',

  // periods and measures
  'analytics.period.lastMonth': 'Last full month',
  'analytics.period.lastQuarter': 'Last full quarter',
  'analytics.period.lastYear': 'Last full year',
  'analytics.period.thisYear': 'This year so far',
  'analytics.period.custom': 'Other dates',
  'analytics.measure.revenue': 'Revenue',
  'analytics.measure.revenue_without_vat': 'Revenue without VAT',
  'analytics.measure.profit': 'Gross profit',

  // ABC analysis
  'analytics.abc.title': 'ABC analysis of customers',
  'analytics.abc.intro':
    'Customers sorted by their value in the period and accumulated from the smallest: those making up the first C % of the total are class C, the next B % class B, the rest class A. Customers with no sales in the period are C.',
  'analytics.abc.period': 'Period',
  'analytics.abc.from': 'From',
  'analytics.abc.to': 'To',
  'analytics.abc.by': 'Measure',
  'analytics.abc.currency': 'Currency',
  'analytics.abc.shares': 'Shares of classes A, B and C, %',
  'analytics.abc.shareOf': 'Share of class {class}, %',
  'analytics.abc.sharesHint': 'Up to 2 decimals each; together 100.',
  'analytics.abc.sharesSum': 'The shares must sum to 100; now they sum to {sum}.',
  'analytics.abc.sharesEach': 'Each share is a number from 0 to 100 with up to 2 decimals.',
  'analytics.abc.dateNeeded': 'Choose a day.',
  'analytics.abc.toBeforeFrom': 'The period must not end before it starts.',
  'analytics.abc.show': 'Show',
  'analytics.abc.distribution': 'Classes',
  'analytics.abc.summary': '{customers} customers, total {total} {currency}',
  'analytics.abc.withoutRate':
    'Facts without a rate to {currency} are left out, never summed unconverted (load rates from their earliest date): {list}',
  'analytics.abc.empty': 'No customer has trade facts up to {to}',
  'analytics.abc.emptyImport': 'Import trade facts',
  'analytics.abc.chartLabel': 'Customers and value per class',
  'analytics.abc.chartCustomers': 'Customers',
  'analytics.abc.chartValue': 'Value, {currency}',
  'analytics.abc.class': 'Class {class}',
  'analytics.abc.classesCaption': 'Customers and value per class',
  'analytics.abc.customers': 'Customers',
  'analytics.abc.col.place': 'Place',
  'analytics.abc.col.customer': 'Code',
  'analytics.abc.col.counterparty': 'Counterparty',
  'analytics.abc.col.customers': 'Customers',
  'analytics.abc.col.value': 'Value',
  'analytics.abc.col.share': 'Share',
  'analytics.abc.col.cumulative': 'Cumulative share',
  'analytics.abc.col.class': 'Class',
  'analytics.abc.notLinked': 'not linked',
  'analytics.abc.previous': 'Previous',
  'analytics.abc.next': 'Next',
  'analytics.abc.rowsOf': '{first}–{last} of {customers}',
  'analytics.abc.csv': 'Download CSV',
  'analytics.abc.xlsx': 'Download Excel (XLSX)',

  // import of trade facts
  'analytics.import.title': 'Import trade facts',
  'analytics.import.intro':
    'Sales and returns from the ERP as a CSV file (UTF-8; separated by commas, semicolons or tabs). A fact sent again under its id replaces the one before, so importing a file again counts nothing twice.',
  'analytics.import.file': 'CSV file',
  'analytics.import.fileHint': 'The first line names the columns; id, date, customer, quantity and revenue are required.',
  'analytics.import.submit': 'Import',
  'analytics.import.counts': '{done} of {total} rows: {accepted} recorded, {rejected} rejected',
  'analytics.import.factId': 'Fact id',
};

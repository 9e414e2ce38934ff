// Български текстове на анализите. en.js има същите ключове; общите са в core/i18n/.
export default {
  // имената на правата му, на страницата с потребителите
  'permission.analytics:read': 'Аналитични справки за всички клиенти (ABC)',
  'permission.trade-facts:write': 'Изпращане на търговски факти (продажби и връщания) от ERP',
  'permission.analytics:classify': 'Изпълнение и потвърждаване на ABC класификации, ръчна промяна на класа на клиент',

  // връзки в заглавната лента
  'nav.analyticsAbc': 'ABC анализ',
  'nav.analyticsImport': 'Търговски факти',

  // периоди и показатели
  'analytics.period.lastMonth': 'Последният пълен месец',
  'analytics.period.lastQuarter': 'Последното пълно тримесечие',
  'analytics.period.lastYear': 'Последната пълна година',
  'analytics.period.thisYear': 'Тази година досега',
  'analytics.period.custom': 'Други дати',
  'analytics.measure.revenue': 'Приходи',
  'analytics.measure.revenue_without_vat': 'Приходи без ДДС',
  'analytics.measure.profit': 'Брутна печалба',

  // ABC анализ
  'analytics.abc.title': 'ABC анализ на клиентите',
  'analytics.abc.intro':
    'Клиентите се подреждат по стойността им за периода и се натрупват от най-малкия: тези в първите C % от общата сума са клас C, следващите B % — клас B, останалите — клас A. Клиентите без продажби в периода са C.',
  'analytics.abc.period': 'Период',
  'analytics.abc.from': 'От',
  'analytics.abc.to': 'До',
  'analytics.abc.by': 'Показател',
  'analytics.abc.currency': 'Валута',
  'analytics.abc.shares': 'Дялове на класове A, B и C, %',
  'analytics.abc.shareOf': 'Дял на клас {class}, %',
  'analytics.abc.sharesHint': 'До 2 знака след десетичната запетая; общо 100.',
  'analytics.abc.sharesSum': 'Сборът на дяловете трябва да е 100; сега е {sum}.',
  'analytics.abc.sharesEach': 'Всеки дял е число от 0 до 100 с до 2 знака след десетичната запетая.',
  'analytics.abc.dateNeeded': 'Изберете дата.',
  'analytics.abc.toBeforeFrom': 'Периодът не може да свършва преди да е започнал.',
  'analytics.abc.show': 'Покажи',
  'analytics.abc.distribution': 'Класове',
  'analytics.abc.summary': '{customers} клиента, общо {total} {currency}',
  'analytics.abc.withoutRate':
    'Фактите без курс към {currency} са изключени, не се сумират непревалутирани (заредете курсове от най-ранната им дата): {list}',
  'analytics.abc.empty': 'Няма клиенти с търговски факти до {to}',
  'analytics.abc.emptyImport': 'Импорт на търговски факти',
  'analytics.abc.chartLabel': 'Клиенти и стойност по класове',
  'analytics.abc.chartCustomers': 'Клиенти',
  'analytics.abc.chartValue': 'Стойност, {currency}',
  'analytics.abc.class': 'Клас {class}',
  'analytics.abc.classesCaption': 'Клиенти и стойност по класове',
  'analytics.abc.customers': 'Клиенти',
  'analytics.abc.col.place': 'Място',
  'analytics.abc.col.customer': 'Код',
  'analytics.abc.col.counterparty': 'Контрагент',
  'analytics.abc.col.customers': 'Клиенти',
  'analytics.abc.col.value': 'Стойност',
  'analytics.abc.col.share': 'Дял',
  'analytics.abc.col.cumulative': 'Натрупан дял',
  'analytics.abc.col.class': 'Клас',
  'analytics.abc.notLinked': 'не е свързан',
  'analytics.abc.previous': 'Предишни',
  'analytics.abc.next': 'Следващи',
  'analytics.abc.rowsOf': '{first}–{last} от {customers}',
  'analytics.abc.csv': 'Изтегли CSV',
  'analytics.abc.xlsx': 'Изтегли Excel (XLSX)',

  // импорт на търговски факти
  'analytics.import.title': 'Импорт на търговски факти',
  'analytics.import.intro':
    'Продажби и връщания от ERP като CSV файл (UTF-8; разделени със запетаи, точки и запетаи или табулации). Факт, изпратен отново със същия id, заменя предишния, така че повторният импорт не брои нищо два пъти.',
  'analytics.import.file': 'CSV файл',
  'analytics.import.fileHint': 'Първият ред именува колоните; задължителни са id, date, customer, quantity и revenue.',
  'analytics.import.submit': 'Импортирай',
  'analytics.import.counts': '{done} от {total} реда: {accepted} записани, {rejected} отхвърлени',
  'analytics.import.factId': 'Id на факта',
};

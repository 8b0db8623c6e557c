// The admin section's tab strip (links, so each tab has its own URL).

import { h } from '../dom.js';

const TABS = [['#/admin/users', 'Users'], ['#/admin/vhosts', 'Virtual hosts'], ['#/admin/policies', 'Policies']];

export function adminTabs(current) {
  return h('nav', { class: 'tabs', 'aria-label': 'Admin' }, TABS.map(([link, label]) => h('a', { href: link, 'aria-current': label === current ? 'page' : undefined }, label)));
}

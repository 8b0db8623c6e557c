// Admin → users: list with tags and the vhosts each may use, add a user.

import { get, put, seg } from '../api.js';
import { act, field, fill, form, h, input, section } from '../dom.js';
import { href } from '../router.js';
import { table } from '../table.js';
import { adminTabs } from './admin-tabs.js';

export async function render(main) {
  const region = h('div');
  const add = form('Add a user', [
    field('Username', input('name', { required: true, id: 'new-user-name' })),
    field('Password', input('password', { type: 'password', autocomplete: 'new-password', id: 'new-user-password' })),
    field('Tags (comma separated)', input('tags', { placeholder: 'administrator, monitoring, policymaker, management', id: 'new-user-tags' })),
  ], 'Add user', (fd, f) => act(async () => {
    const body = { tags: String(fd.get('tags') ?? '') };
    const pw = String(fd.get('password') ?? '');
    if (pw !== '') body.password = pw; else body.password_hash = '';
    await put(`/api/users/${seg(fd.get('name'))}`, body);
    f.reset();
    await refresh();
  }, 'User added'), { open: true, id: 'add-user' });
  main.append(h('h1', {}, 'Users'), adminTabs('Users'), section(null, region), section(null, add));
  async function refresh() {
    const [users, perms] = await Promise.all([get('/api/users'), get('/api/permissions')]);
    const vhostsOf = new Map();
    for (const p of perms) vhostsOf.set(p.user, [...(vhostsOf.get(p.user) ?? []), p.vhost]);
    fill(region, table([
      { title: 'Name', value: (u) => h('a', { href: href('admin/users', u.name) }, u.name) },
      { title: 'Tags', value: (u) => (Array.isArray(u.tags) ? u.tags.join(', ') : u.tags) },
      { title: 'Can access virtual hosts', value: (u) => (vhostsOf.get(u.name) ?? ['No access']).join(', ') },
      { title: 'Has password', value: (u) => (u.password_hash ? 'yes' : 'no') },
    ], users, { rowAttrs: (u) => ({ 'data-user': u.name }) }));
  }
  await refresh();
  return { refresh };
}

// Admin → one user: tags and password, permissions and topic permissions per vhost, delete.

import { del, get, put, seg } from '../api.js';
import { act, button, confirmAction, field, fill, form, h, input, section, select } from '../dom.js';
import { table } from '../table.js';
import { adminTabs } from './admin-tabs.js';

export async function render(main, [name], ctx) {
  const perms = h('div');
  const topic = h('div');
  const info = h('p');
  const u = `/api/users/${seg(name)}`;
  const update = form('Update this user', [
    field('Tags (comma separated)', input('tags')),
    field('New password (empty: keep)', input('password', { type: 'password', autocomplete: 'new-password' })),
  ], 'Update user', (fd) => act(async () => {
    const current = await get(u);
    const body = { tags: String(fd.get('tags') ?? '') };
    const pw = String(fd.get('password') ?? '');
    if (pw !== '') body.password = pw; else body.password_hash = current.password_hash;
    if (current.hashing_algorithm && pw === '') body.hashing_algorithm = current.hashing_algorithm;
    await put(u, body);
    await refresh();
  }, 'User updated'));
  const setPerm = form('Set permission', [
    field('Virtual host', select('vhost', ctx.vhosts, ctx.vhosts[0])),
    field('Configure regexp', input('configure', { value: '.*' })),
    field('Write regexp', input('write', { value: '.*' })),
    field('Read regexp', input('read', { value: '.*' })),
  ], 'Set permission', (fd) => act(async () => {
    await put(`/api/permissions/${seg(fd.get('vhost'))}/${seg(name)}`, { configure: fd.get('configure'), write: fd.get('write'), read: fd.get('read') });
    await refresh();
  }, 'Permission set'), { open: true, id: 'set-permission' });
  const setTopic = form('Set topic permission', [
    field('Virtual host', select('vhost', ctx.vhosts, ctx.vhosts[0])),
    field('Exchange', input('exchange', { value: 'amq.topic' })),
    field('Write regexp', input('write', { value: '.*' })),
    field('Read regexp', input('read', { value: '.*' })),
  ], 'Set topic permission', (fd) => act(async () => {
    await put(`/api/topic-permissions/${seg(fd.get('vhost'))}/${seg(name)}`, { exchange: fd.get('exchange'), write: fd.get('write'), read: fd.get('read') });
    await refresh();
  }, 'Topic permission set'));
  main.append(
    h('h1', {}, `User ${name}`), adminTabs('Users'), section(null, info, update),
    section('Permissions', perms, setPerm), section('Topic permissions', topic, setTopic),
    section('Delete', button('Delete user', () => {
      if (!confirmAction(`Delete user ${name}? Its connections are closed.`)) return;
      act(async () => { await del(u); location.hash = '#/admin/users'; }, 'User deleted');
    }, { class: 'danger', id: 'delete-user' })),
  );
  async function refresh() {
    const [user, p, t] = await Promise.all([get(u), get(`${u}/permissions`), get(`${u}/topic-permissions`).catch(() => [])]);
    info.textContent = `Tags: ${(user.tags ?? []).join(', ') || '(none)'}`;
    fill(perms, table([
      { title: 'Virtual host', value: (r) => r.vhost },
      { title: 'Configure', value: (r) => r.configure }, { title: 'Write', value: (r) => r.write }, { title: 'Read', value: (r) => r.read },
      { title: '', value: (r) => button('Clear', () => {
        if (!confirmAction(`Clear ${name}'s permissions in ${r.vhost}?`)) return;
        act(async () => { await del(`/api/permissions/${seg(r.vhost)}/${seg(name)}`); await refresh(); }, 'Permission cleared');
      }, { class: 'secondary' }) },
    ], p, { empty: 'No permissions.' }));
    fill(topic, table([
      { title: 'Virtual host', value: (r) => r.vhost }, { title: 'Exchange', value: (r) => r.exchange },
      { title: 'Write', value: (r) => r.write }, { title: 'Read', value: (r) => r.read },
      { title: '', value: (r) => button('Clear', () => {
        if (!confirmAction(`Clear ${name}'s topic permissions on ${r.exchange} in ${r.vhost}?`)) return;
        act(async () => { await del(`/api/topic-permissions/${seg(r.vhost)}/${seg(name)}/${seg(r.exchange)}`); await refresh(); }, 'Topic permission cleared');
      }, { class: 'secondary' }) },
    ], t, { empty: 'No topic permissions.' }));
  }
  await refresh();
  return { refresh };
}

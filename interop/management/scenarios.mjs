// Management API scenarios: each runs the same calls against RabbitMQ 3.10.8 (+ management) and
// warren and returns what a tool would see. `{p}` in a path is a per-run prefix (shown as <P>).
import { shape } from './client.mjs';

const put = (api, path, body) => api.see('PUT', path, body);
const del = (api, path) => api.see('DELETE', path);
const get = (api, path) => api.see('GET', path);
const full = { configure: '.*', write: '.*', read: '.*' };

export default {
  async whoami(api) {
    return { guest: await get(api, '/whoami') };
  },

  async 'overview-shape'(api) {
    const r = await api.call('GET', '/overview');
    const o = r.json;
    return {
      status: r.status,
      keys: Object.keys(o).sort(),
      object_totals: shape(o.object_totals),
      queue_totals: shape(o.queue_totals),
      churn_rates: shape(o.churn_rates),
      message_stats_keys: Object.keys(o.message_stats).filter((k) => !k.endsWith('_details')).sort(),
      listener: shape(o.listeners.find((l) => l.protocol === 'amqp')),
      rabbitmq_version: o.rabbitmq_version,
      management_version: o.management_version,
      rates_mode: o.rates_mode,
      exchange_types: o.exchange_types.map((t) => t.name).sort(),
      columns: (await api.call('GET', '/overview?columns=rabbitmq_version,object_totals.queues')).json.rabbitmq_version,
    };
  },

  async 'auth-rules'(api) {
    await put(api, '/users/{p}-none', { password: 'p', tags: '' });
    await put(api, '/users/{p}-mgmt', { password: 'p', tags: 'management' });
    const none = api.as(`${api.prefix}-none`, 'p');
    const mgmt = api.as(`${api.prefix}-mgmt`, 'p');
    const obs = {
      noCredentials: await api.see('GET', '/overview', undefined, { auth: null }),
      wrongPassword: await api.as('guest', 'wrong').see('GET', '/whoami'),
      noTag: await none.see('GET', '/whoami'),
      mgmtWhoami: await mgmt.see('GET', '/whoami'),
      mgmtUsers: await mgmt.see('GET', '/users'),
      mgmtNodes: await mgmt.see('GET', '/nodes'),
      mgmtDefinitions: await mgmt.see('GET', '/definitions'),
      mgmtVhost: await mgmt.see('GET', '/vhosts/%2F'),
      mgmtVhosts: await mgmt.see('GET', '/vhosts'),
      mgmtAliveness: await mgmt.see('GET', '/aliveness-test/%2F'),
      mgmtParameters: await mgmt.see('GET', '/parameters/vhost-limits'),
      mgmtHealth: await mgmt.see('GET', '/health/checks/alarms'),
    };
    await del(api, '/users/{p}-none');
    await del(api, '/users/{p}-mgmt');
    return obs;
  },

  async 'generic-errors'(api) {
    const r = await api.call('POST', '/overview');
    return {
      unknown: await get(api, '/no-such-thing'),
      method: { status: r.status, allow: (r.headers.get('allow') ?? '').split(', ').sort() },
      badJson: await api.see('PUT', '/vhosts/{p}', undefined, { headers: { 'content-type': 'application/json' } }).then(() => undefined),
      notJson: await (async () => {
        const res = await fetch(`${api.base}/api/users/${api.prefix}-x`, {
          method: 'PUT',
          headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`, 'content-type': 'application/json' },
          body: '{bad',
        });
        return { status: res.status, body: await res.json() };
      })(),
      cleanup: (await del(api, '/vhosts/{p}')).status,
    };
  },

  async users(api) {
    const obs = {
      create: await put(api, '/users/{p}-u', { password: 'secret', tags: 'management, monitoring' }),
      replace: await put(api, '/users/{p}-u', { password: 'secret', tags: ['management'] }),
      read: await get(api, '/users/{p}-u'),
      noTags: await put(api, '/users/{p}-v', { password: 'x' }),
      both: await put(api, '/users/{p}-v', { password: 'x', password_hash: '', tags: '' }),
      hash: await put(api, '/users/{p}-h', { password_hash: 'kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR', tags: '' }),
      hashRead: await get(api, '/users/{p}-h'),
      passwordless: await put(api, '/users/{p}-n', { tags: 'a, b' }),
      passwordlessRead: await get(api, '/users/{p}-n'),
      missing: await get(api, '/users/{p}-missing'),
      bulkUnknown: await api.see('POST', '/users/bulk-delete', { users: [`${api.prefix}-missing`] }),
      bulk: await api.see('POST', '/users/bulk-delete', { users: [`${api.prefix}-h`, `${api.prefix}-n`] }),
      delete: await del(api, '/users/{p}-u'),
      deleteAgain: await del(api, '/users/{p}-u'),
    };
    return obs;
  },

  async vhosts(api) {
    const obs = {
      create: await put(api, '/vhosts/{p}%2Fv'),
      update: await put(api, '/vhosts/{p}%2Fv', { description: 'd', tags: 'x,y' }),
      read: await api.call('GET', '/vhosts/{p}%2Fv').then((r) => {
        const { name, description, tags, tracing, metadata } = r.json;
        return { status: r.status, name: name.replace(api.prefix, '<P>'), description, tags, tracing, metadata };
      }),
      creatorGranted: await get(api, '/vhosts/{p}%2Fv/permissions'),
      topicPermissions: await get(api, '/vhosts/{p}%2Fv/topic-permissions'),
      missing: await get(api, '/vhosts/{p}-missing'),
      delete: await del(api, '/vhosts/{p}%2Fv'),
      deleteAgain: await del(api, '/vhosts/{p}%2Fv'),
    };
    return obs;
  },

  async permissions(api) {
    await put(api, '/vhosts/{p}');
    await put(api, '/users/{p}-u', { password: 'p', tags: '' });
    const obs = {
      missingKey: await put(api, '/permissions/{p}/{p}-u', { configure: '.*', write: '.*' }),
      noUser: await put(api, '/permissions/{p}/{p}-nobody', full),
      noVhost: await put(api, '/permissions/{p}-novhost/{p}-u', full),
      create: await put(api, '/permissions/{p}/{p}-u', full),
      update: await put(api, '/permissions/{p}/{p}-u', { configure: '^a', write: '.*', read: '.*' }),
      read: await get(api, '/permissions/{p}/{p}-u'),
      ofUser: await get(api, '/users/{p}-u/permissions'),
      topicCreate: await put(api, '/topic-permissions/{p}/{p}-u', { exchange: 'amq.topic', write: '^a', read: '.*' }),
      topicMissingKey: await put(api, '/topic-permissions/{p}/{p}-u', { write: '^a', read: '.*' }),
      topicRead: await get(api, '/topic-permissions/{p}/{p}-u'),
      topicOfUser: await get(api, '/users/{p}-u/topic-permissions'),
      topicDelete: await del(api, '/topic-permissions/{p}/{p}-u'),
      topicGone: await get(api, '/topic-permissions/{p}/{p}-u'),
      delete: await del(api, '/permissions/{p}/{p}-u'),
      deleteAgain: await del(api, '/permissions/{p}/{p}-u'),
    };
    await del(api, '/users/{p}-u');
    await del(api, '/vhosts/{p}');
    return obs;
  },

  async limits(api) {
    await put(api, '/vhosts/{p}');
    await put(api, '/users/{p}-u', { password: 'p', tags: '' });
    const obs = {
      set: await put(api, '/vhost-limits/{p}/max-connections', { value: 5 }),
      setAgain: await put(api, '/vhost-limits/{p}/max-connections', { value: 6 }),
      missingValue: await put(api, '/vhost-limits/{p}/max-queues', {}),
      read: await get(api, '/vhost-limits/{p}'),
      asParameter: await get(api, '/parameters/vhost-limits/{p}/limits'),
      missingVhost: await get(api, '/vhost-limits/{p}-missing'),
      clear: await del(api, '/vhost-limits/{p}/max-connections'),
      clearAgain: await del(api, '/vhost-limits/{p}/max-connections'),
      readCleared: await get(api, '/vhost-limits/{p}'),
      userSet: await put(api, '/user-limits/{p}-u/max-channels', { value: 3 }),
      userRead: await get(api, '/user-limits/{p}-u'),
      userMissing: await get(api, '/user-limits/{p}-missing'),
      userClear: await del(api, '/user-limits/{p}-u/max-channels'),
    };
    await del(api, '/users/{p}-u');
    await del(api, '/vhosts/{p}');
    return obs;
  },

  async policies(api) {
    await put(api, '/vhosts/{p}');
    const obs = {
      create: await put(api, '/policies/{p}/ttl', { pattern: '^a', definition: { 'message-ttl': 1000 } }),
      update: await put(api, '/policies/{p}/ttl', { pattern: '^a', definition: { 'message-ttl': 2000 }, priority: 1, 'apply-to': 'queues' }),
      read: await get(api, '/policies/{p}/ttl'),
      list: await get(api, '/policies/{p}'),
      missingPattern: await put(api, '/policies/{p}/bad', { definition: { 'message-ttl': 1 } }),
      noVhost: await put(api, '/policies/{p}-missing/x', { pattern: '.', definition: { 'message-ttl': 1 } }),
      missing: await get(api, '/policies/{p}/nosuch'),
      operatorCreate: await put(api, '/operator-policies/{p}/cap', { pattern: '^b', definition: { 'max-length': 5 }, 'apply-to': 'queues' }),
      operatorAsParameter: await get(api, '/parameters/operator_policy/{p}/cap'),
      operatorParameterNoPriority: await put(api, '/parameters/operator_policy/{p}/cap2', { value: { pattern: '^x', definition: { 'max-length': 5 } } }),
      operatorDelete: await del(api, '/operator-policies/{p}/cap'),
      delete: await del(api, '/policies/{p}/ttl'),
      deleteAgain: await del(api, '/policies/{p}/ttl'),
      unknownComponent: await put(api, '/parameters/federation-upstream/{p}/up', { value: { uri: 'amqp://' } }),
      unknownComponentList: await get(api, '/parameters/federation-upstream'),
    };
    await del(api, '/vhosts/{p}');
    return obs;
  },

  async paging(api) {
    await put(api, '/vhosts/{p}-a');
    await put(api, '/vhosts/{p}-b');
    const r = await api.call('GET', `/vhosts?page=1&page_size=1&name=${api.prefix}&columns=name`);
    const obs = {
      wrapper: { status: r.status, keys: Object.keys(r.json).sort(), items: r.json.items, page_count: r.json.page_count, filtered_count: r.json.filtered_count },
      regex: (await api.call('GET', `/vhosts?page=1&name=^${api.prefix}-b$&use_regex=true&columns=name`)).json.items,
      badRegex: await get(api, '/vhosts?page=1&name=(&use_regex=true'),
      page0: await get(api, '/vhosts?page=0'),
      pageSize: await get(api, '/vhosts?page=1&page_size=501'),
      // Past the filtered list but within the whole one: an empty page (total_count depends on the node).
      outOfRange: await api.call('GET', `/vhosts?page=3&page_size=1&name=${api.prefix}`).then((x) => ({ status: x.status, items: x.json.items, page: x.json.page })),
      sorted: (await api.call('GET', '/users?sort=name&sort_reverse=true&columns=name')).json.length > 0,
    };
    await del(api, '/vhosts/{p}-a');
    await del(api, '/vhosts/{p}-b');
    return obs;
  },

  async 'health-checks'(api) {
    const out = {};
    const amqpPort = (await api.call('GET', '/overview')).json.listeners.find((l) => l.protocol === 'amqp').port;
    for (const c of ['alarms', 'local-alarms', 'virtual-hosts', 'node-is-quorum-critical', 'node-is-mirror-sync-critical', `port-listener/${amqpPort}`, 'port-listener/1', 'port-listener/abc',
      'protocol-listener/amqp', 'protocol-listener/nonesuch', 'certificate-expiration/1/weeks', 'certificate-expiration/1/fortnights']) {
      out[c.replace(String(amqpPort), '<amqp>')] = await get(api, `/health/checks/${c}`);
    }
    out.aliveness = await get(api, '/aliveness-test/%2F');
    out.alivenessMissing = await get(api, '/aliveness-test/{p}-missing');
    return out;
  },

  async 'nodes-shape'(api) {
    const nodes = (await api.call('GET', '/nodes')).json;
    const wanted = ['name', 'type', 'running', 'uptime', 'run_queue', 'processors', 'os_pid', 'fd_total', 'fd_used', 'sockets_total', 'sockets_used', 'proc_total', 'proc_used',
      'mem_limit', 'mem_used', 'mem_alarm', 'disk_free_limit', 'disk_free', 'disk_free_alarm', 'rates_mode', 'enabled_plugins', 'partitions'];
    const n = nodes[0];
    const memory = (await api.call('GET', `/nodes/${encodeURIComponent(n.name)}/memory`)).json;
    return {
      count: nodes.length,
      present: Object.fromEntries(wanted.map((k) => [k, typeof n[k]])),
      type: n.type,
      running: n.running,
      memoryTotal: shape(memory.memory.total),
    };
  },

  async 'definitions-shape'(api) {
    await put(api, '/vhosts/{p}');
    // The whole-broker export is compared by shape only; other users of the reference node may
    // leave objects in it that differ from run to run.
    const all = await api.call('GET', '/definitions');
    const one = (await api.call('GET', '/definitions/{p}')).json;
    const dl = await api.call('GET', '/definitions/{p}?download=x.json');
    const obs = {
      status: all.status,
      keys: all.status === 200 ? Object.keys(all.json).sort() : null,
      vhostKeys: Object.keys(one).sort(),
      user: all.status === 200 ? shape(all.json.users[0]) : null,
      download: dl.headers.get('content-disposition'),
      importVhost: await api.see('POST', '/definitions/{p}', { queues: [{ name: 'q', durable: true, auto_delete: false, arguments: {} }], exchanges: [], bindings: [], policies: [], parameters: [] }),
      importMissingVhost: await api.see('POST', '/definitions/{p}-missing', { queues: [] }),
    };
    await del(api, '/vhosts/{p}');
    return obs;
  },

  async 'cluster-name'(api) {
    const before = (await api.call('GET', '/cluster-name')).json.name;
    const obs = {
      set: await put(api, '/cluster-name', { name: `${api.prefix}-cluster` }),
      read: await get(api, '/cluster-name').then((r) => ({ ...r, body: { name: String(r.body?.name ?? '').replace(api.prefix, '<P>') } })),
      missingName: await put(api, '/cluster-name', {}),
      global: await get(api, '/global-parameters/cluster_name'),
    };
    await put(api, '/cluster-name', { name: before });
    return obs;
  },

  async misc(api) {
    return {
      extensions: (await get(api, '/extensions')).status,
      featureFlags: (await get(api, '/feature-flags')).status,
      auth: (await get(api, '/auth')).status,
    };
  },
};

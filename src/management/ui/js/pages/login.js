// Login: the credentials are checked with GET /api/whoami before they are kept for the session.

import { tryLogin } from '../api.js';
import { field, h, input } from '../dom.js';

export function renderLogin(main, onDone) {
  const error = h('p', { class: 'banner alarm', role: 'alert', hidden: true });
  const user = input('username', { autocomplete: 'username', required: true, id: 'login-username' });
  const pass = input('password', { type: 'password', autocomplete: 'current-password', id: 'login-password' });
  const f = h('form', { id: 'login-form' },
    h('h1', {}, 'Log in'),
    error,
    field('Username', user),
    field('Password', pass),
    h('button', { type: 'submit' }, 'Log in'));
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await tryLogin(user.value, pass.value);
      onDone();
    } catch (err) {
      error.hidden = false;
      error.textContent = err.status === 401 && err.message !== 'Login failed' ? `Login failed: ${err.message}` : err.status === 401 ? 'Login failed.' : err.message;
      pass.select();
    }
  });
  main.replaceChildren(h('div', { class: 'login' }, f));
  user.focus();
}

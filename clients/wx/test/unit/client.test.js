'use strict'
// The client's behaviour against a local server that can be steered: tokens,
// single-flight login, errors, helpers. Retries and timeouts: retries.test.js.

const { describe, it, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')

const { createClient, MiniHubError } = require('../..')
const { simulatedWx } = require('../support/simulated-wx')
const { startLocalServer, USER } = require('../support/local-server')

const APPID = 'wxa0000000000000a1'
const KEY = `minihub:token:${APPID}`

let server

before(async () => { server = await startLocalServer() })
after(() => server.close())
beforeEach(() => {
  server.state.hits.length = 0
  server.state.overrides.length = 0
  server.state.loginDelayMs = 0
})

function phone (options = {}) {
  const wx = simulatedWx({ fakeWeChatURL: server.url, appid: APPID, openid: 'openid-1', storage: options.storage })
  const api = createClient(Object.assign({ baseURL: server.baseURL, appid: APPID, wx }, options.client))
  return { wx, api }
}

async function rejection (promise) {
  try {
    await promise
  } catch (err) {
    return err
  }
  assert.fail('expected a rejection')
}

describe('createClient', () => {
  it('refuses a missing baseURL, a malformed appid and a missing wx', () => {
    const { wx } = phone()
    assert.throws(() => createClient({ appid: APPID, wx }), /baseURL/)
    assert.throws(() => createClient({ baseURL: server.baseURL, appid: 'wxABC', wx }), /appid/)
    assert.throws(() => createClient({ baseURL: server.baseURL, appid: APPID }), /no wx object/)
  })

  it('uses the global wx when none is passed', async () => {
    const { wx } = phone()
    global.wx = wx
    try {
      const api = createClient({ baseURL: server.baseURL, appid: APPID })
      await api.login()
      assert.equal(wx.log.logins, 1)
    } finally {
      delete global.wx
    }
  })
})

describe('tokens', () => {
  it('login() stores the token under minihub:token:<appid> and answers in camelCase', async () => {
    const { wx, api } = phone()
    assert.equal(api.hasToken(), false)
    const result = await api.login()
    assert.match(result.token, /^token-\d+$/)
    assert.equal(result.expiresIn, 3600)
    assert.equal(typeof result.created, 'boolean')
    assert.deepEqual(result.user, USER)
    assert.equal(wx.storage.get(KEY), result.token)
    assert.equal(api.hasToken(), true)
    const [loginHit] = server.hitsTo('POST', '/auth/login')
    assert.match(loginHit.body.code, /^code-\d+$/)
    assert.equal(loginHit.headers['x-mini-program'], APPID)
    assert.equal(loginHit.headers.authorization, undefined)
  })

  it('honours a custom storageKey', async () => {
    const { wx, api } = phone({ client: { storageKey: 'my-token' } })
    const { token } = await api.login()
    assert.equal(wx.storage.get('my-token'), token)
    assert.equal(wx.storage.has(KEY), false)
  })

  it('a new client on the same storage (a restart) reuses the token without wx.login', async () => {
    const first = phone()
    const { token } = await first.api.login()
    const restarted = phone({ storage: first.wx.storage })
    assert.equal(restarted.api.hasToken(), true)
    assert.deepEqual(await restarted.api.me.get(), USER)
    assert.equal(restarted.wx.log.logins, 0)
    assert.equal(server.hitsTo('GET', '/me')[0].headers.authorization, `Bearer ${token}`)
  })

  it('a call that needs a token and has none logs in first', async () => {
    const { wx, api } = phone()
    await api.me.get()
    assert.equal(wx.log.logins, 1)
    assert.deepEqual(server.state.hits.map((h) => `${h.method} ${h.path}`), ['POST /api/v2/auth/login', 'GET /api/v2/me'])
  })

  it('20 concurrent calls without a token share one login', async () => {
    const { wx, api } = phone()
    server.state.loginDelayMs = 100
    const answers = await Promise.all(Array.from({ length: 20 }, () => api.me.get()))
    assert.equal(answers.length, 20)
    assert.equal(wx.log.logins, 1)
    assert.equal(server.hitsTo('POST', '/auth/login').length, 1)
    assert.equal(server.hitsTo('GET', '/me').length, 20)
  })

  it('20 concurrent calls meeting a revoked token cause exactly one wx.login, and all succeed', async () => {
    const { wx, api } = phone()
    const { token } = await api.login()
    server.revokeAll()
    server.state.loginDelayMs = 50
    const answers = await Promise.all(Array.from({ length: 20 }, () => api.me.get()))
    assert.equal(answers.filter((a) => a.id === USER.id).length, 20)
    assert.equal(wx.log.logins, 2) // the first login, then exactly one more
    const gets = server.hitsTo('GET', '/me')
    assert.equal(gets.length, 40)
    assert.equal(gets.filter((h) => h.headers.authorization === `Bearer ${token}`).length, 20)
    assert.notEqual(wx.storage.get(KEY), token)
  })

  it('a call answered 401 after the token was already replaced retries with the new one, without a login', async () => {
    const { wx, api } = phone()
    const { token } = await api.login()
    server.override('GET', '/me', (hit, res, { error }) => {
      // Meanwhile, another part of the app logged in again.
      wx.storage.set(KEY, 'token-fresh')
      server.state.tokens.add('token-fresh')
      error(res, 401, 'unauthenticated', 'The bearer token is not valid.')
    })
    await api.me.get()
    assert.equal(wx.log.logins, 1)
    const auths = server.hitsTo('GET', '/me').map((h) => h.headers.authorization)
    assert.deepEqual(auths, [`Bearer ${token}`, 'Bearer token-fresh'])
  })

  it('a second 401 after a fresh login rejects, removes the token, and does not loop', async () => {
    const { wx, api } = phone()
    await api.login()
    server.override('GET', '/me', (hit, res, { error }) => error(res, 401, 'unauthenticated', 'No.'), 2)
    const err = await rejection(api.me.get())
    assert.ok(err instanceof MiniHubError)
    assert.equal(err.status, 401)
    assert.equal(err.code, 'unauthenticated')
    assert.equal(wx.log.logins, 2)
    assert.equal(server.hitsTo('GET', '/me').length, 2)
    assert.equal(api.hasToken(), false)
  })

  it('session_expired is cured by a login too', async () => {
    const { wx, api } = phone()
    await api.login()
    server.override('POST', '/me/userinfo', (hit, res, { error }) => error(res, 401, 'session_expired', 'Call wx.login again.'))
    const answer = await api.me.userinfo({ encryptedData: 'ZW5j', iv: 'aXY=' })
    assert.deepEqual(answer, { echo: { encrypted_data: 'ZW5j', iv: 'aXY=' } })
    assert.equal(wx.log.logins, 2)
  })

  it('other refusals (403) are not a reason to log in again', async () => {
    const { wx, api } = phone()
    await api.login()
    server.override('GET', '/me', (hit, res, { error }) => error(res, 403, 'forbidden', 'Not yours.'))
    const err = await rejection(api.me.get())
    assert.equal(err.code, 'forbidden')
    assert.equal(wx.log.logins, 1)
    assert.equal(api.hasToken(), true)
  })

  it('a failed login rejects every waiting call with its error; the next call logs in again', async () => {
    const { wx, api } = phone()
    server.override('POST', '/auth/login', (hit, res, { error }) =>
      error(res, 503, 'wechat_unavailable', 'WeChat is unavailable; try again shortly.', { headers: { 'Retry-After': '5' } }))
    const errors = await Promise.all(Array.from({ length: 5 }, () => rejection(api.me.get())))
    for (const err of errors) {
      assert.equal(err.code, 'wechat_unavailable')
      assert.equal(err.status, 503)
      assert.equal(err.message, 'WeChat is unavailable; try again shortly.')
    }
    assert.equal(server.hitsTo('POST', '/auth/login').length, 1, 'a login is never retried')
    assert.equal(server.hitsTo('GET', '/me').length, 0)
    await api.me.get()
    assert.equal(wx.log.logins, 2)
  })

  it('a failing wx.login is a MiniHubError wx_login_failed', async () => {
    const { wx, api } = phone()
    wx.failNextLogin('login:fail no network')
    const err = await rejection(api.login())
    assert.ok(err instanceof MiniHubError)
    assert.equal(err.code, 'wx_login_failed')
    assert.equal(err.status, 0)
    assert.equal(err.message, 'login:fail no network')
    assert.equal(server.hitsTo('POST', '/auth/login').length, 0)
  })

  it('two clients of one phone share a login in flight; two phones do not', async () => {
    const one = phone()
    const sameStorage = createClient({ baseURL: server.baseURL, appid: APPID, wx: one.wx })
    const other = phone()
    server.state.loginDelayMs = 100
    const [a, b, c] = await Promise.all([one.api.login(), sameStorage.login(), other.api.login()])
    assert.equal(a.token, b.token)
    assert.notEqual(a.token, c.token)
    assert.equal(one.wx.log.logins, 1)
    assert.equal(other.wx.log.logins, 1)
  })

  it('logout() ends the token on the server and removes it; another client of the storage then logs in', async () => {
    const first = phone()
    const second = createClient({ baseURL: server.baseURL, appid: APPID, wx: first.wx })
    const { token } = await first.api.login()
    await second.logout()
    assert.equal(server.hitsTo('POST', '/auth/logout')[0].headers.authorization, `Bearer ${token}`)
    assert.equal(first.api.hasToken(), false)
    await first.api.me.get()
    assert.equal(first.wx.log.logins, 2)
  })

  it('logout() without a token sends nothing; a 401 on logout still resolves', async () => {
    const { wx, api } = phone()
    await api.logout()
    assert.equal(server.state.hits.length, 0)
    await api.login()
    server.revokeAll()
    await api.logout()
    assert.equal(wx.storage.has(KEY), false)
  })

  it('logout() that cannot reach the server rejects but removes the token all the same', async () => {
    const { wx, api } = phone()
    await api.login()
    server.override('POST', '/auth/logout', (hit, res) => res.socket.destroy())
    const err = await rejection(api.logout())
    assert.equal(err.code, 'network_error')
    assert.equal(wx.storage.has(KEY), false)
  })
})

describe('requests', () => {
  it('sends X-Mini-Program always, the token only when the call uses one, JSON only with a body', async () => {
    const { api } = phone({ client: { baseURL: `${server.baseURL}/` } })
    await api.albums.list()
    await api.login()
    await api.albums.list({ limit: 5, cursor: null })
    await api.request({ method: 'GET', path: '/albums', auth: 'none' })
    const [anonymous, withToken, none] = server.hitsTo('GET', '/albums')
    for (const hit of [anonymous, withToken, none]) assert.equal(hit.headers['x-mini-program'], APPID)
    assert.equal(anonymous.headers.authorization, undefined)
    assert.match(withToken.headers.authorization, /^Bearer token-\d+$/)
    assert.equal(none.headers.authorization, undefined)
    assert.equal(withToken.rawQuery, '?limit=5')
    assert.equal(withToken.headers['content-type'], undefined)
    await api.me.phone('phone-code')
    assert.equal(server.hitsTo('POST', '/me/phone')[0].headers['content-type'], 'application/json')
  })

  it('encodes query values and path segments', async () => {
    const { api } = phone()
    await api.request({ path: '/albums', query: { q: '夜曲 & 🎵', tag: ['a', 'b'], skip: undefined } })
    assert.equal(server.hitsTo('GET', '/albums')[0].rawQuery, '?q=%E5%A4%9C%E6%9B%B2%20%26%20%F0%9F%8E%B5&tag=a&tag=b')
    await rejection(api.albums.get('1/plays'))
    assert.equal(server.state.hits[1].path, '/api/v2/albums/1%2Fplays')
  })

  it('rejects with the envelope: status, code, message, requestId, fields', async () => {
    const { api } = phone()
    const fields = [{ loc: ['query', 'limit'], msg: 'Input should be greater than or equal to 1' }]
    server.override('GET', '/albums', (hit, res, { error }) => error(res, 422, 'validation_error', 'Invalid input.', { fields }))
    const err = await rejection(api.albums.list({ limit: 0 }))
    assert.ok(err instanceof MiniHubError)
    assert.ok(err instanceof Error)
    assert.equal(err.name, 'MiniHubError')
    assert.equal(err.status, 422)
    assert.equal(err.code, 'validation_error')
    assert.equal(err.message, 'Invalid input.')
    assert.match(err.requestId, /^req-\d+$/)
    assert.deepEqual(err.fields, fields)
    const notFound = await rejection(api.albums.get(999))
    assert.equal(notFound.code, 'not_found')
    assert.deepEqual(notFound.fields, [])
  })

  it('an answer outside the envelope (a proxy page) is http_error with its status', async () => {
    const { api } = phone()
    server.override('GET', '/albums', (hit, res, { reply }) => reply(res, 502, '<html>Bad Gateway</html>'))
    const err = await rejection(api.albums.list())
    assert.equal(err.code, 'http_error')
    assert.equal(err.status, 502)
    assert.equal(err.message, 'HTTP 502')
  })

  it('a 204 resolves to undefined', async () => {
    const { api } = phone()
    assert.equal(await api.albums.favorite(1), undefined)
    assert.equal(await api.albums.unfavorite(1), undefined)
    assert.equal(server.hitsTo('PUT', '/albums/1/favorite').length, 1)
    assert.equal(server.hitsTo('DELETE', '/albums/1/favorite').length, 1)
  })

  it('qrcode() resolves to an ArrayBuffer, and its errors are read from bytes', async () => {
    const { api } = phone()
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])
    server.override('GET', '/qrcode', (hit, res) => {
      res.writeHead(200, { 'Content-Type': 'image/jpeg' })
      res.end(jpeg)
    })
    const image = await api.qrcode({ scene: 'id=1', width: 280 })
    assert.ok(image instanceof ArrayBuffer)
    assert.deepEqual(Buffer.from(image), jpeg)
    assert.equal(server.hitsTo('GET', '/qrcode')[0].rawQuery, '?scene=id%3D1&width=280')
    server.override('GET', '/qrcode', (hit, res, { error }) => error(res, 422, 'validation_error', '场景 invalid', {
      fields: [{ loc: ['query', 'scene'], msg: 'bad' }]
    }))
    const err = await rejection(api.qrcode({ scene: '' }))
    assert.equal(err.code, 'validation_error')
    assert.equal(err.message, '场景 invalid')
    assert.deepEqual(err.fields[0].loc, ['query', 'scene'])
  })

  it('me.userinfo sends wx.getUserInfo answer fields under the API names, without absent ones', async () => {
    const { api } = phone()
    await api.me.userinfo({ encryptedData: 'ZW5j', iv: 'aXY=', userInfo: { nickName: 'x' } })
    await api.me.userinfo({ encryptedData: 'ZW5j', iv: 'aXY=', rawData: '{}', signature: 'abc' })
    const [bare, signed] = server.hitsTo('POST', '/me/userinfo').map((h) => h.body)
    assert.deepEqual(bare, { encrypted_data: 'ZW5j', iv: 'aXY=' })
    assert.deepEqual(signed, { encrypted_data: 'ZW5j', iv: 'aXY=', raw_data: '{}', signature: 'abc' })
  })
})

describe('subscriptions.request', () => {
  it('asks wx at once (inside the tap) and sends only the accepted templates', async () => {
    const { wx, api } = phone()
    wx.answerSubscriptions({ tA: 'accept', tB: 'reject', tC: 'accept' })
    const pending = api.subscriptions.request(['tA', 'tB', 'tC'])
    assert.deepEqual(wx.log.subscribeAsks, [['tA', 'tB', 'tC']], 'called synchronously')
    assert.deepEqual(await pending, { granted: { tA: 1, tC: 1 } })
    assert.deepEqual(server.hitsTo('POST', '/me/subscriptions')[0].body, { template_ids: ['tA', 'tC'] })
  })

  it('sends nothing when nothing was accepted', async () => {
    const { wx, api } = phone()
    wx.answerSubscriptions({ tB: 'ban' })
    assert.deepEqual(await api.subscriptions.request(['tB', 'tD']), { granted: {} })
    assert.equal(server.state.hits.length, 0)
  })

  it('a failing wx.requestSubscribeMessage is wx_subscribe_failed', async () => {
    const { wx, api } = phone()
    wx.failNextSubscribe('requestSubscribeMessage:fail can only be invoked by user TAP gesture.')
    const err = await rejection(api.subscriptions.request(['tA']))
    assert.equal(err.code, 'wx_subscribe_failed')
    assert.match(err.message, /TAP gesture/)
  })
})

describe('internals', () => {
  const { _private } = require('../..')

  it('decodes UTF-8 without TextDecoder (older base libraries)', () => {
    const saved = global.TextDecoder
    const text = '{"error":{"message":"昵称 🎵 ok"}}'
    try {
      delete global.TextDecoder
      assert.equal(typeof TextDecoder, 'undefined')
      assert.equal(_private.utf8Decode(new Uint8Array(Buffer.from(text)).buffer), text)
    } finally {
      global.TextDecoder = saved
    }
  })

  it('knows which paths need a token by default', () => {
    assert.equal(_private.defaultAuth('POST', '/auth/login'), 'none')
    assert.equal(_private.defaultAuth('GET', '/health/live'), 'none')
    assert.equal(_private.defaultAuth('POST', '/albums/3/plays'), 'none')
    assert.equal(_private.defaultAuth('GET', '/albums'), 'optional')
    assert.equal(_private.defaultAuth('GET', '/albums/3'), 'optional')
    assert.equal(_private.defaultAuth('PUT', '/albums/3/favorite'), 'required')
    assert.equal(_private.defaultAuth('GET', '/me/favorites'), 'required')
    assert.equal(_private.defaultAuth('GET', '/qrcode'), 'required')
  })
})

'use strict'
// Retries, Retry-After, backoff, timeouts and network failures, against a local
// server that answers 503/429, hangs or drops the connection on demand.

const { describe, it, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')

const { createClient, _private } = require('../..')
const { simulatedWx } = require('../support/simulated-wx')
const { startLocalServer } = require('../support/local-server')

const APPID = 'wxa0000000000000a1'
// Timers may fire a little early or late; a wait is measured with this slack.
const SLACK_MS = 40

let server

before(async () => { server = await startLocalServer() })
after(() => server.close())
beforeEach(() => {
  server.state.hits.length = 0
  server.state.overrides.length = 0
})

async function loggedIn (clientOptions) {
  const wx = simulatedWx({ fakeWeChatURL: server.url, appid: APPID, openid: 'openid-r' })
  const api = createClient(Object.assign({ baseURL: server.baseURL, appid: APPID, wx }, clientOptions))
  await api.login()
  server.state.hits.length = 0
  return { wx, api }
}

const busy = (status, retryAfter) => (hit, res, { error }) => {
  const headers = retryAfter === undefined ? {} : { 'Retry-After': retryAfter }
  error(res, status, status === 429 ? 'rate_limited' : 'service_unavailable', 'Busy.', { headers })
}
const drop = (hit, res) => res.socket.destroy()
const hang = () => {}

async function rejection (promise) {
  try {
    await promise
  } catch (err) {
    return err
  }
  assert.fail('expected a rejection')
}

function gaps (hits) {
  return hits.slice(1).map((h, i) => h.at - hits[i].at)
}

describe('retries', () => {
  it('GET after a 503 with Retry-After: 1 waits a second, then succeeds', async () => {
    const { api } = await loggedIn()
    server.override('GET', '/me', busy(503, '1'))
    const started = Date.now()
    await api.me.get()
    const hits = server.hitsTo('GET', '/me')
    assert.equal(hits.length, 2)
    assert.ok(gaps(hits)[0] >= 1000 - SLACK_MS, `waited ${gaps(hits)[0]} ms`)
    assert.ok(Date.now() - started < 1000 + 800)
  })

  it('PUT and DELETE after a 429 with Retry-After: 1 wait a second, then succeed', async () => {
    const { api } = await loggedIn()
    server.override('PUT', '/albums/7/favorite', busy(429, '1'))
    server.override('DELETE', '/albums/7/favorite', busy(429, '1'))
    await api.albums.favorite(7)
    await api.albums.unfavorite(7)
    for (const method of ['PUT', 'DELETE']) {
      const hits = server.hitsTo(method, '/albums/7/favorite')
      assert.equal(hits.length, 2, method)
      assert.ok(gaps(hits)[0] >= 1000 - SLACK_MS, `${method} waited ${gaps(hits)[0]} ms`)
    }
  })

  it('without Retry-After waits 0.2 s then 0.4 s, and gives up after `retries` extra tries', async () => {
    const { api } = await loggedIn()
    server.override('GET', '/me', busy(503), 5)
    const err = await rejection(api.me.get())
    assert.equal(err.status, 503)
    assert.equal(err.code, 'service_unavailable')
    const hits = server.hitsTo('GET', '/me')
    assert.equal(hits.length, 3, 'one try and the default 2 retries')
    const [first, second] = gaps(hits)
    assert.ok(first >= 200 - SLACK_MS && first < 200 + 300, `first wait ${first} ms`)
    assert.ok(second >= 400 - SLACK_MS && second < 400 + 300, `second wait ${second} ms`)
  })

  it('`retries` sets the number of extra tries; 0 means one try', async () => {
    const once = await loggedIn({ retries: 0 })
    server.override('GET', '/me', busy(503), 5)
    await rejection(once.api.me.get())
    assert.equal(server.hitsTo('GET', '/me').length, 1)
    server.state.hits.length = 0
    server.state.overrides.length = 0
    const more = await loggedIn({ retries: 4 })
    server.override('GET', '/me', busy(503, '0'), 4)
    await more.api.me.get()
    assert.equal(server.hitsTo('GET', '/me').length, 5)
  })

  it('a POST is never retried: not after 503, 429 or a dropped connection', async () => {
    const { api } = await loggedIn()
    server.override('POST', '/content/check', busy(503, '0'))
    assert.equal((await rejection(api.content.check('hi'))).status, 503)
    server.override('POST', '/me/phone', busy(429, '0'))
    assert.equal((await rejection(api.me.phone('c'))).code, 'rate_limited')
    server.override('POST', '/albums/1/plays', drop)
    assert.equal((await rejection(api.albums.play(1))).code, 'network_error')
    assert.equal(server.hitsTo('POST', '/content/check').length, 1)
    assert.equal(server.hitsTo('POST', '/me/phone').length, 1)
    assert.equal(server.hitsTo('POST', '/albums/1/plays').length, 1)
  })

  it('a profile change (POST /me) is not retried either', async () => {
    const { api } = await loggedIn()
    server.override('POST', '/me', busy(503, '0'))
    await rejection(api.me.update({ nickname: 'x' }))
    assert.equal(server.hitsTo('POST', '/me').length, 1)
  })

  it('a login is never retried', async () => {
    const wx = simulatedWx({ fakeWeChatURL: server.url, appid: APPID, openid: 'openid-r' })
    const api = createClient({ baseURL: server.baseURL, appid: APPID, wx })
    server.override('POST', '/auth/login', drop)
    assert.equal((await rejection(api.login())).code, 'network_error')
    assert.equal(server.hitsTo('POST', '/auth/login').length, 1)
  })

  it('a 500 is not retried', async () => {
    const { api } = await loggedIn()
    server.override('GET', '/me', (hit, res, { error }) => error(res, 500, 'internal_error', 'Bug.'))
    assert.equal((await rejection(api.me.get())).code, 'internal_error')
    assert.equal(server.hitsTo('GET', '/me').length, 1)
  })

  it('a dropped connection on GET is retried, then reported as network_error with status 0', async () => {
    const { api } = await loggedIn()
    server.override('GET', '/me', drop)
    await api.me.get()
    assert.equal(server.hitsTo('GET', '/me').length, 2)
    server.state.hits.length = 0
    server.override('GET', '/me', drop, 3)
    const err = await rejection(api.me.get())
    assert.equal(err.status, 0)
    assert.equal(err.code, 'network_error')
    assert.match(err.message, /^request:fail/)
    assert.equal(err.requestId, null)
    assert.equal(server.hitsTo('GET', '/me').length, 3)
  })

  it('a server that never answers is a timeout after timeoutMs; GET tries again, POST does not', async () => {
    const { api } = await loggedIn({ timeoutMs: 150, retries: 1 })
    server.override('GET', '/me', hang, 2)
    const started = Date.now()
    const err = await rejection(api.me.get())
    const elapsed = Date.now() - started
    assert.equal(err.code, 'timeout')
    assert.equal(err.status, 0)
    assert.equal(server.hitsTo('GET', '/me').length, 2)
    assert.ok(elapsed >= 2 * 150 + 200 - SLACK_MS && elapsed < 2000, `took ${elapsed} ms`)
    server.override('POST', '/me/phone', hang)
    assert.equal((await rejection(api.me.phone('c'))).code, 'timeout')
    assert.equal(server.hitsTo('POST', '/me/phone').length, 1)
  })

  it('a timeout is enforced even when wx.request ignores its timeout option', async () => {
    const wx = simulatedWx({ fakeWeChatURL: server.url, appid: APPID, openid: 'openid-r' })
    const request = wx.request
    let aborted = 0
    wx.request = (options) => {
      const task = request(Object.assign({}, options, { timeout: undefined }))
      return { abort () { aborted += 1; task.abort() } }
    }
    const api = createClient({ baseURL: server.baseURL, appid: APPID, wx, timeoutMs: 150, retries: 0 })
    server.override('GET', '/albums', hang)
    const err = await rejection(api.albums.list())
    assert.equal(err.code, 'timeout')
    assert.equal(aborted, 1)
  })
})

describe('retryDelayMs', () => {
  const { retryDelayMs } = _private

  it('takes Retry-After in seconds, capped at 30 s', () => {
    assert.equal(retryDelayMs(0, '5'), 5000)
    assert.equal(retryDelayMs(1, '0'), 0)
    assert.equal(retryDelayMs(0, '30'), 30000)
    assert.equal(retryDelayMs(0, '31'), 30000)
    assert.equal(retryDelayMs(0, '3600'), 30000)
  })

  it('takes Retry-After as an HTTP date', () => {
    const inTenSeconds = new Date(Date.now() + 10000).toUTCString()
    const delay = retryDelayMs(0, inTenSeconds)
    assert.ok(delay > 8000 && delay <= 10000, `${delay}`)
    assert.equal(retryDelayMs(0, new Date(Date.now() - 5000).toUTCString()), 0)
    assert.equal(retryDelayMs(0, new Date(Date.now() + 3600e3).toUTCString()), 30000)
  })

  it('backs off 0.2 s, 0.4 s, 0.8 s without (or with an unreadable) Retry-After', () => {
    assert.deepEqual([0, 1, 2].map((n) => retryDelayMs(n, null)), [200, 400, 800])
    assert.equal(retryDelayMs(1, 'soon'), 400)
    assert.equal(retryDelayMs(0, ''), 200)
  })
})

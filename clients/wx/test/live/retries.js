'use strict'
// Retry-After and retries against the live server: a 503 from WeChat being
// down (the fake's faults) and the server's 429 rate limit.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')

const { requestsTo } = require('../support/simulated-wx')
const { env, newPhone, fake, rejection, sleep } = require('../support/live')

const SLACK_MS = 50
const RETRY_AFTER_CAP_S = 30

describe('retries (live)', () => {
  it('GET /qrcode meeting wechat_unavailable (503) waits its Retry-After, then succeeds', async (t) => {
    const phone = newPhone('qrcode-retry')
    await phone.api.login()
    await fake.fault('/wxa/getwxacodeunlimit', -1, env.wechatAttempts)
    const started = Date.now()
    const image = await phone.api.qrcode({ scene: `retry=${Date.now()}` })
    const elapsed = Date.now() - started
    assert.ok(image instanceof ArrayBuffer)
    const [first, second, ...more] = requestsTo(phone.wx.log, 'GET', '/qrcode')
    assert.equal(more.length, 0)
    assert.equal(first.status, 503)
    const retryAfter = Number(first.header['retry-after'])
    assert.ok(retryAfter > 0)
    assert.equal(second.status, 200)
    const waited = second.startedAt - first.endedAt
    assert.ok(waited >= retryAfter * 1000 - SLACK_MS, `waited ${waited} ms for Retry-After ${retryAfter}`)
    assert.ok(waited < retryAfter * 1000 + 1000, `waited ${waited} ms for Retry-After ${retryAfter}`)
    t.diagnostic(`report: 503 on GET: Retry-After=${retryAfter}s waited=${waited}ms total=${elapsed}ms tries=2`)
  })

  it('POST /content/check meeting wechat_unavailable (503) is not retried', async () => {
    const phone = newPhone('check-no-retry')
    await phone.api.login()
    const before = (await fake.stats())['/wxa/msg_sec_check'] || 0
    await fake.fault('/wxa/msg_sec_check', -1, env.wechatAttempts)
    const started = Date.now()
    const err = await rejection(phone.api.content.check('hello'))
    assert.equal(err.status, 503)
    assert.equal(err.code, 'wechat_unavailable')
    assert.ok(Date.now() - started < 5000, 'no Retry-After wait')
    assert.equal(requestsTo(phone.wx.log, 'POST', '/content/check').length, 1)
    assert.equal((await fake.stats())['/wxa/msg_sec_check'] - before, env.wechatAttempts)
  })

  it('429 rate_limited: PUT waits Retry-After (capped at 30 s) and succeeds; POST is not retried', async (t) => {
    const limit = env.writesPerUserPerMinute
    // The limit counts per minute: start early enough in one to use it up within it.
    const intoMinute = Date.now() % 60000
    if (intoMinute > 55000) await sleep(60000 - intoMinute + 100)
    const phone = newPhone('throttled')
    await phone.api.login()
    const [album] = (await phone.api.albums.list({ limit: 1 })).items
    for (let i = 0; i < limit; i++) await phone.api.albums.favorite(album.id)
    const puts = requestsTo(phone.wx.log, 'PUT', '/favorite')
    assert.ok(puts.every((r) => r.status === 204), 'the first writes pass')

    const refused = await rejection(phone.api.content.check('one more write'))
    assert.equal(refused.status, 429)
    assert.equal(refused.code, 'rate_limited')
    assert.equal(requestsTo(phone.wx.log, 'POST', '/content/check').length, 1)

    const started = Date.now()
    await phone.api.albums.favorite(album.id)
    const elapsed = Date.now() - started
    const tries = requestsTo(phone.wx.log, 'PUT', '/favorite').slice(limit)
    const throttled = tries.slice(0, -1)
    assert.ok(throttled.length >= 1 && throttled.length <= 2, `tries: ${tries.map((r) => r.status)}`)
    assert.ok(throttled.every((r) => r.status === 429 && Number(r.header['retry-after']) > 0))
    assert.equal(tries[tries.length - 1].status, 204)
    const advised = throttled.reduce((sum, r) => sum + Math.min(Number(r.header['retry-after']), RETRY_AFTER_CAP_S) * 1000, 0)
    assert.ok(elapsed >= advised - SLACK_MS, `took ${elapsed} ms, advised ${advised} ms`)
    assert.ok(elapsed < advised + 3000, `took ${elapsed} ms, advised ${advised} ms`)
    t.diagnostic(`report: 429 on PUT: Retry-After=${throttled.map((r) => r.header['retry-after']).join(',')}s advised=${advised}ms took=${elapsed}ms tries=${tries.length}`)
  })
})

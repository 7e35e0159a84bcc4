'use strict'
// Tokens expiring mid-session, against a live MiniHub whose tokens live a few
// seconds (tests/test_wx_client.py starts it so and sets MINIHUB_TEST_TOKEN_TTL).

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')

const { requestsTo } = require('./support/simulated-wx')
const { env, newPhone, sameStorage, sleep } = require('./support/live')

const TTL_SECONDS = Number(process.env.MINIHUB_TEST_TOKEN_TTL)

describe('tokens expiring mid-session (live)', () => {
  it('runs against a server whose tokens live a few seconds', () => {
    assert.ok(TTL_SECONDS > 0 && TTL_SECONDS <= 10, 'MINIHUB_TEST_TOKEN_TTL must be 1-10 (seconds)')
  })

  it('20 concurrent calls meeting an expired token: exactly one wx.login, all 20 succeed', async (t) => {
    const phone = newPhone('expiry')
    const { token, expiresIn } = await phone.api.login()
    assert.equal(expiresIn, TTL_SECONDS)
    await phone.api.me.get()
    await sleep(expiresIn * 1000 + 1000)

    const before = phone.wx.log.requests.length
    const calls = [
      ...Array.from({ length: 10 }, () => phone.api.me.get()),
      ...Array.from({ length: 5 }, () => phone.api.me.favorites()),
      ...Array.from({ length: 5 }, () => phone.api.albums.list({ limit: 3 }))
    ]
    const started = Date.now()
    const results = await Promise.allSettled(calls)
    const elapsed = Date.now() - started
    const failed = results.filter((r) => r.status === 'rejected')
    assert.deepEqual(failed.map((r) => `${r.reason.code}: ${r.reason.message}`), [])
    assert.equal(phone.wx.log.logins, 2, 'the first login and exactly one more')
    const sent = phone.wx.log.requests.slice(before)
    const expired = sent.filter((r) => r.auth === `Bearer ${token}`)
    const logins = sent.filter((r) => r.path.endsWith('/auth/login'))
    const retried = sent.filter((r) => r.auth && r.auth !== `Bearer ${token}`)
    assert.equal(expired.length, 20)
    assert.ok(expired.every((r) => r.status === 401))
    assert.equal(logins.length, 1)
    assert.equal(retried.length, 20)
    assert.ok(retried.every((r) => r.status === 200))
    t.diagnostic(
      `report: expired token: calls=20 wx.login=1 refused(401)=${expired.length} ` +
      `logins=${logins.length} retried=${retried.length} failed=${failed.length} in ${elapsed} ms`
    )
  })

  it('a restart with an expired stored token logs in once on the first call', async () => {
    const phone = newPhone('expiry-restart')
    const { expiresIn } = await phone.api.login()
    await sleep(expiresIn * 1000 + 1000)
    const restarted = sameStorage(phone)
    assert.equal(restarted.hasToken(), true, 'the client cannot know it expired')
    const me = await restarted.me.get()
    assert.equal(me.openid, phone.openid)
    assert.equal(phone.wx.log.logins, 2)
    const [refused, retried] = requestsTo(phone.wx.log, 'GET', '/me')
    assert.equal(refused.status, 401)
    assert.equal(retried.status, 200)
  })
})

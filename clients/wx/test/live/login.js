'use strict'
// Login and tokens against the live server.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')

const { MiniHubError } = require('../..')
const { requestsTo } = require('../support/simulated-wx')
const { env, newPhone, sameStorage, fake, rawGet, rejection } = require('../support/live')

const USER_FIELDS = ['avatar_url', 'created_at', 'id', 'nickname', 'openid', 'phone', 'unionid']

describe('login and tokens (live)', () => {
  it('the first login creates the user and stores the token; a login on another phone finds it', async () => {
    const phone = newPhone('first', { unionid: 'union-first' })
    assert.equal(phone.api.hasToken(), false)
    const first = await phone.api.login()
    assert.equal(first.created, true)
    assert.ok(first.expiresIn > 0)
    assert.deepEqual(Object.keys(first.user).sort(), USER_FIELDS)
    assert.equal(first.user.openid, phone.openid)
    assert.equal(first.user.unionid, 'union-first')
    assert.equal(phone.wx.storage.get(`minihub:token:${env.appid}`), first.token)
    assert.equal(phone.api.hasToken(), true)
    const again = await newPhone('first', { openid: phone.openid }).api.login()
    assert.equal(again.created, false)
    assert.equal(again.user.id, first.user.id)
    assert.notEqual(again.token, first.token)
  })

  it('a restarted client (new client, same storage) reuses the token without wx.login', async () => {
    const phone = newPhone('restart')
    const { token, user } = await phone.api.login()
    const restarted = sameStorage(phone)
    assert.equal(restarted.hasToken(), true)
    assert.equal((await restarted.me.get()).id, user.id)
    assert.equal(phone.wx.log.logins, 1)
    assert.equal(requestsTo(phone.wx.log, 'GET', '/me')[0].auth, `Bearer ${token}`)
  })

  it('20 concurrent calls with no token yet share one login', async (t) => {
    const phone = newPhone('cold')
    const users = await Promise.all(Array.from({ length: 20 }, () => phone.api.me.get()))
    assert.equal(new Set(users.map((u) => u.id)).size, 1)
    assert.equal(phone.wx.log.logins, 1)
    assert.equal(requestsTo(phone.wx.log, 'POST', '/auth/login').length, 1)
    t.diagnostic(`report: no token yet: calls=20 wx.login=${phone.wx.log.logins} GET /me=${requestsTo(phone.wx.log, 'GET', '/me').length}`)
  })

  it('a token revoked by a logout elsewhere: 20 concurrent calls cause exactly one wx.login, and all succeed', async (t) => {
    const phone = newPhone('revoked')
    const { token } = await phone.api.login()
    // The same token in another client (another storage), which logs out: the
    // server revokes it at once.
    const elsewhere = newPhone('elsewhere', { openid: phone.openid })
    elsewhere.wx.storage.set(`minihub:token:${env.appid}`, token)
    await elsewhere.api.logout()
    assert.equal((await rawGet('/me', { 'X-Mini-Program': env.appid, Authorization: `Bearer ${token}` })).status, 401)

    const loginsBefore = phone.wx.log.logins
    const requestsBefore = phone.wx.log.requests.length
    const calls = [
      ...Array.from({ length: 10 }, () => phone.api.me.get()),
      ...Array.from({ length: 5 }, () => phone.api.me.favorites({ limit: 5 })),
      ...Array.from({ length: 5 }, () => phone.api.albums.list({ limit: 5 }))
    ]
    const results = await Promise.allSettled(calls)
    const failed = results.filter((r) => r.status === 'rejected')
    assert.deepEqual(failed.map((r) => r.reason.code), [], 'all 20 succeed')
    const logins = phone.wx.log.logins - loginsBefore
    assert.equal(logins, 1)
    const sent = phone.wx.log.requests.slice(requestsBefore)
    const refused = sent.filter((r) => r.auth === `Bearer ${token}`)
    assert.equal(refused.length, 20)
    assert.ok(refused.every((r) => r.status === 401))
    const retried = sent.filter((r) => r.path.endsWith('/auth/login') === false && r.auth !== `Bearer ${token}`)
    assert.equal(retried.length, 20)
    assert.ok(retried.every((r) => r.status === 200))
    assert.equal(sent.filter((r) => r.path.endsWith('/auth/login')).length, 1)
    t.diagnostic(`report: revoked token: calls=20 wx.login=${logins} refused(401)=${refused.length} retried=${retried.length} failed=${failed.length}`)
  })

  it('a logout by another client of the same storage: the next call logs in again', async () => {
    const phone = newPhone('shared')
    const { token } = await phone.api.login()
    const other = sameStorage(phone)
    await other.logout()
    assert.equal(phone.api.hasToken(), false)
    const refused = await rawGet('/me', { 'X-Mini-Program': env.appid, Authorization: `Bearer ${token}` })
    assert.equal(refused.status, 401)
    assert.equal(refused.body.error.code, 'unauthenticated')
    await phone.api.me.get()
    assert.equal(phone.wx.log.logins, 2)
    assert.equal(phone.api.hasToken(), true)
  })

  it('a call refused again after a fresh login rejects: one extra login, no loop', async () => {
    const phone = newPhone('stale')
    await phone.api.login()
    // wx.getUserInfo data encrypted with a session key the server does not hold:
    // session_expired, which a new login cannot cure for this data.
    const key = crypto.randomBytes(16)
    const iv = crypto.randomBytes(16)
    const cipher = crypto.createCipheriv('aes-128-cbc', key, iv)
    const data = JSON.stringify({ nickName: 'x', watermark: { appid: env.appid } })
    const encryptedData = Buffer.concat([cipher.update(data), cipher.final()]).toString('base64')
    const err = await rejection(phone.api.me.userinfo({ encryptedData, iv: iv.toString('base64') }))
    assert.ok(err instanceof MiniHubError)
    assert.equal(err.status, 401)
    assert.equal(err.code, 'session_expired')
    assert.equal(phone.wx.log.logins, 2)
    assert.equal(requestsTo(phone.wx.log, 'POST', '/me/userinfo').length, 2)
    assert.equal(phone.api.hasToken(), false)
  })

  it('WeChat down at login: wechat_unavailable with its message; the login is not retried', async () => {
    const phone = newPhone('wechat-down')
    const before = (await fake.stats())['/sns/jscode2session'] || 0
    await fake.fault('/sns/jscode2session', -1, env.wechatAttempts)
    const err = await rejection(phone.api.me.get())
    assert.ok(err instanceof MiniHubError)
    assert.equal(err.status, 503)
    assert.equal(err.code, 'wechat_unavailable')
    assert.equal(err.message, 'WeChat is unavailable; try again shortly.')
    const [login] = requestsTo(phone.wx.log, 'POST', '/auth/login')
    assert.equal(err.requestId, login.header['x-request-id'])
    assert.equal(login.header['retry-after'], '5')
    assert.equal(requestsTo(phone.wx.log, 'POST', '/auth/login').length, 1)
    assert.equal(requestsTo(phone.wx.log, 'GET', '/me').length, 0)
    assert.equal((await fake.stats())['/sns/jscode2session'] - before, env.wechatAttempts)
    // WeChat is back: the next call logs in.
    assert.equal((await phone.api.me.get()).openid, phone.openid)
    assert.equal(phone.wx.log.logins, 2)
  })

  it('a user WeChat refuses gets wechat_user_blocked', async () => {
    const phone = newPhone('blocked', { blocked: true })
    const err = await rejection(phone.api.login())
    assert.equal(err.status, 403)
    assert.equal(err.code, 'wechat_user_blocked')
    assert.equal(phone.api.hasToken(), false)
  })

  it('an unknown appid is miniprogram_unknown', async () => {
    const phone = newPhone('unknown', { appid: 'wxffffffffffffffff' })
    const err = await rejection(phone.api.albums.list())
    assert.equal(err.status, 404)
    assert.equal(err.code, 'miniprogram_unknown')
  })

  it("another mini-program's token is refused; the client logs in to its own", async () => {
    const a = newPhone('two-apps', { client: { storageKey: 'token' } })
    const { token, user } = await a.api.login()
    const b = newPhone('two-apps', { appid: env.otherAppid, openid: a.openid, storage: a.wx.storage, client: { storageKey: 'token' } })
    const me = await b.api.me.get()
    assert.equal(me.openid, a.openid)
    assert.notEqual(me.id, user.id)
    const [refused, retried] = requestsTo(b.wx.log, 'GET', '/me')
    assert.equal(refused.auth, `Bearer ${token}`)
    assert.equal(refused.status, 401)
    assert.equal(retried.status, 200)
    assert.equal(b.wx.log.logins, 1)
  })
})

'use strict'
// Every typed helper once against the live server, and the error envelope.

const { describe, it, before } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')

const { MiniHubError } = require('../..')
const { requestsTo } = require('../support/simulated-wx')
const { env, newPhone, fake, rawGet, rejection } = require('../support/live')

const ALBUM_FIELDS = ['artist', 'cover_url', 'favorited', 'id', 'plays', 'title', 'tracks']
const NICKNAME = '🎵音乐🎧 👨‍👩‍👧'

function assertAlbum (album) {
  assert.deepEqual(Object.keys(album).sort(), ALBUM_FIELDS)
  assert.equal(typeof album.id, 'number')
  assert.equal(typeof album.favorited, 'boolean')
}

function encryptUserinfo (sessionKey, data) {
  const iv = crypto.randomBytes(16)
  const cipher = crypto.createCipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), iv)
  const encryptedData = Buffer.concat([cipher.update(JSON.stringify(data), 'utf8'), cipher.final()])
  return { encryptedData: encryptedData.toString('base64'), iv: iv.toString('base64') }
}

describe('typed helpers (live)', () => {
  let phone
  let albums

  before(async () => {
    phone = newPhone('helpers', { unionid: 'union-helpers' })
    const first = await newPhone('anonymous').api.albums.list()
    const second = await newPhone('anonymous').api.albums.list({ cursor: first.next_cursor })
    albums = first.items.concat(second.items)
  })

  it('albums.list pages through this mini-program\'s albums, anonymously', async () => {
    const anonymous = newPhone('anonymous')
    const first = await anonymous.api.albums.list({ limit: 20 })
    assert.equal(first.items.length, Math.min(20, env.albumCount))
    assert.equal(typeof first.next_cursor, 'string')
    first.items.forEach(assertAlbum)
    assert.ok(first.items.every((a) => a.favorited === false))
    const second = await anonymous.api.albums.list({ cursor: first.next_cursor, limit: 20 })
    assert.equal(second.items.length, env.albumCount - 20)
    assert.equal(second.next_cursor, null)
    assert.equal(albums.length, env.albumCount)
    assert.ok(!albums.some((a) => a.id === env.otherAlbumId))
    assert.equal(anonymous.wx.log.logins, 0)
    assert.ok(anonymous.wx.log.requests.every((r) => r.auth === null))
  })

  it('albums.get and albums.play', async () => {
    const album = albums[0]
    const got = await phone.api.albums.get(album.id)
    assertAlbum(got)
    assert.equal(got.title, album.title)
    const { plays } = await phone.api.albums.play(album.id)
    const again = await phone.api.albums.play(album.id)
    assert.equal(again.plays, plays + 1)
    assert.equal((await phone.api.albums.get(album.id)).plays, plays + 1)
    assert.equal(requestsTo(phone.wx.log, 'POST', `/albums/${album.id}/plays`)[0].status, 202)
  })

  it('albums.favorite and unfavorite, seen in albums.get, albums.list and me.favorites', async () => {
    const album = albums[1]
    assert.equal(await phone.api.albums.favorite(album.id), undefined)
    assert.equal(await phone.api.albums.favorite(album.id), undefined) // idempotent
    assert.equal((await phone.api.albums.get(album.id)).favorited, true)
    const listed = await phone.api.albums.list({ limit: 20 })
    assert.deepEqual(listed.items.filter((a) => a.favorited).map((a) => a.id), [album.id])
    const favorites = await phone.api.me.favorites({ limit: 10 })
    assert.deepEqual(favorites.items.map((a) => a.id), [album.id])
    assert.equal(favorites.next_cursor, null)
    favorites.items.forEach(assertAlbum)
    assert.equal(await phone.api.albums.unfavorite(album.id), undefined)
    assert.deepEqual((await phone.api.me.favorites()).items, [])
    assert.equal((await phone.api.albums.get(album.id)).favorited, false)
  })

  it('me.get and me.update (emoji kept exactly)', async () => {
    const me = await phone.api.me.get()
    assert.equal(me.openid, phone.openid)
    const avatar = 'https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132'
    const updated = await phone.api.me.update({ nickname: NICKNAME, avatar_url: avatar })
    assert.equal(updated.nickname, NICKNAME)
    assert.equal(updated.avatar_url, avatar)
    assert.equal((await phone.api.me.get()).nickname, NICKNAME)
  })

  it('me.phone with a getPhoneNumber code', async () => {
    const code = await fake.phoneCode(env.appid, '13800138000')
    const me = await phone.api.me.phone(code)
    assert.match(me.phone, /13800138000$/)
  })

  it('me.userinfo with wx.getUserInfo data encrypted with the session key', async () => {
    await phone.api.me.get() // logged in: the session key is the last login's
    const info = encryptUserinfo(phone.wx.sessionKey, {
      nickName: '夜曲',
      avatarUrl: 'https://thirdwx.qlogo.cn/a/132',
      unionId: 'union-from-userinfo',
      watermark: { appid: env.appid, timestamp: Math.floor(Date.now() / 1000) }
    })
    const me = await phone.api.me.userinfo(info)
    assert.equal(me.nickname, '夜曲')
    assert.equal(me.unionid, 'union-from-userinfo')
  })

  it('subscriptions.request sends what the user accepted and gets the grants', async () => {
    phone.wx.answerSubscriptions({ tmplNew: 'accept', tmplNo: 'reject', tmplBan: 'ban', tmplOk: 'accept' })
    const first = await phone.api.subscriptions.request(['tmplNew', 'tmplNo', 'tmplBan', 'tmplOk'])
    assert.deepEqual(first, { granted: { tmplNew: 1, tmplOk: 1 } })
    const second = await phone.api.subscriptions.request(['tmplNew'])
    assert.deepEqual(second, { granted: { tmplNew: 2 } })
    const sent = requestsTo(phone.wx.log, 'POST', '/me/subscriptions')
    assert.equal(sent.length, 2)
    assert.deepEqual(await phone.api.subscriptions.request(['tmplNo']), { granted: {} })
    assert.equal(requestsTo(phone.wx.log, 'POST', '/me/subscriptions').length, 2)
  })

  it('content.check', async () => {
    assert.deepEqual(await phone.api.content.check('今天天气不错'), { suggest: 'pass', label: 100 })
    const risky = await phone.api.content.check('this has a risky-word in it')
    assert.equal(risky.suggest, 'risky')
    assert.equal(typeof risky.label, 'number')
  })

  it('qrcode resolves to the JPEG as an ArrayBuffer', async () => {
    const before = (await fake.stats())['/wxa/getwxacodeunlimit'] || 0
    const image = await phone.api.qrcode({ scene: 'album=1', env_version: 'develop', width: 280 })
    assert.ok(image instanceof ArrayBuffer)
    const bytes = Buffer.from(image)
    assert.ok(bytes.length > 100)
    assert.deepEqual([...bytes.subarray(0, 3)], [0xff, 0xd8, 0xff])
    assert.deepEqual(Buffer.from(await phone.api.qrcode({ scene: 'album=1', env_version: 'develop', width: 280 })), bytes)
    assert.equal((await fake.stats())['/wxa/getwxacodeunlimit'] - before, 1, 'the second one came from the cache')
  })

  it('logout ends the token on the server and removes it', async () => {
    const leaving = newPhone('logout')
    const { token } = await leaving.api.login()
    await leaving.api.logout()
    assert.equal(leaving.api.hasToken(), false)
    const [sent] = requestsTo(leaving.wx.log, 'POST', '/auth/logout')
    assert.equal(sent.status, 204)
    const refused = await rawGet('/me', { 'X-Mini-Program': env.appid, Authorization: `Bearer ${token}` })
    assert.equal(refused.status, 401)
  })
})

describe('errors (live)', () => {
  let phone
  before(async () => {
    phone = newPhone('errors')
    await phone.api.login()
  })

  function lastAnswer (method, path) {
    const sent = requestsTo(phone.wx.log, method, path)
    return sent[sent.length - 1]
  }

  it('validation_error carries the fields, and the request id of the answer', async () => {
    const err = await rejection(phone.api.albums.list({ limit: 0 }))
    assert.ok(err instanceof MiniHubError)
    assert.equal(err.status, 422)
    assert.equal(err.code, 'validation_error')
    assert.equal(typeof err.message, 'string')
    assert.ok(err.fields.some((f) => f.loc.includes('limit')), JSON.stringify(err.fields))
    assert.equal(err.requestId, lastAnswer('GET', '/albums').header['x-request-id'])
    const long = await rejection(phone.api.me.update({ nickname: 'n'.repeat(65) }))
    assert.equal(long.code, 'validation_error')
    assert.ok(long.fields.some((f) => f.loc.includes('nickname')), JSON.stringify(long.fields))
    const scene = await rejection(phone.api.qrcode({ scene: 'no spaces' }))
    assert.equal(scene.code, 'validation_error')
    assert.ok(scene.fields.some((f) => f.loc.includes('scene')), JSON.stringify(scene.fields))
  })

  it('not_found for an album that does not exist, and for another mini-program\'s album', async () => {
    const missing = await rejection(phone.api.albums.get(2 ** 40))
    assert.equal(missing.status, 404)
    assert.equal(missing.code, 'not_found')
    assert.deepEqual(missing.fields, [])
    for (const call of [
      () => phone.api.albums.get(env.otherAlbumId),
      () => phone.api.albums.favorite(env.otherAlbumId),
      () => phone.api.albums.play(env.otherAlbumId)
    ]) {
      const err = await rejection(call())
      assert.equal(err.status, 404)
      assert.equal(err.code, 'not_found')
      assert.match(err.requestId, /\S/)
    }
  })
})

'use strict'
// What the live tests share: where the servers are (from the environment that
// tests/test_wx_client.py sets up), simulated phones, and the fake WeChat
// server's control endpoints.

const http = require('node:http')

const { createClient } = require('../..')
const { simulatedWx, postJson } = require('./simulated-wx')

const VARIABLES = {
  baseURL: 'MINIHUB_TEST_BASE_URL', // the live MiniHub, e.g. http://127.0.0.1:8123/api/v2
  fakeWeChatURL: 'MINIHUB_TEST_FAKE_WECHAT_URL',
  appid: 'MINIHUB_TEST_APPID', // a mini-program with MINIHUB_TEST_ALBUM_COUNT albums
  otherAppid: 'MINIHUB_TEST_OTHER_APPID', // another one, with the album below
  otherAlbumId: 'MINIHUB_TEST_OTHER_ALBUM_ID',
  albumCount: 'MINIHUB_TEST_ALBUM_COUNT',
  wechatAttempts: 'MINIHUB_TEST_WECHAT_ATTEMPTS', // the server's tries per WeChat call
  writesPerUserPerMinute: 'MINIHUB_TEST_WRITES_PER_USER_PER_MINUTE'
}

function liveEnv () {
  const missing = Object.values(VARIABLES).filter((name) => !process.env[name])
  if (missing.length) {
    throw new Error(
      `the live tests need ${missing.join(', ')}: run them through ` +
      'tests/test_wx_client.py (pytest), which starts MiniHub and the fake WeChat server'
    )
  }
  const env = {}
  for (const [key, name] of Object.entries(VARIABLES)) env[key] = process.env[name]
  for (const key of ['otherAlbumId', 'albumCount', 'wechatAttempts', 'writesPerUserPerMinute']) {
    env[key] = Number(env[key])
  }
  return env
}

const env = liveEnv()
let phones = 0

/** A simulated phone with its own WeChat user and storage, and a client on it. */
function newPhone (name, options = {}) {
  phones += 1
  const appid = options.appid || env.appid
  const openid = options.openid || `${name}-${process.pid}-${phones}`
  const wx = simulatedWx({
    fakeWeChatURL: env.fakeWeChatURL,
    appid,
    openid,
    unionid: options.unionid,
    blocked: options.blocked,
    storage: options.storage
  })
  const api = createClient(Object.assign({ baseURL: env.baseURL, appid, wx }, options.client))
  return { wx, api, openid, appid }
}

/** Another client on the same phone (same wx, same storage): e.g. after a restart. */
function sameStorage (phone, options = {}) {
  return createClient(Object.assign({ baseURL: env.baseURL, appid: phone.appid, wx: phone.wx }, options))
}

function getJson (url, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers, agent: false }, (res) => {
      const chunks = []
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        resolve({ status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : null })
      })
    }).on('error', reject)
  })
}

const fake = {
  fault: (path, errcode, times) => postJson(`${env.fakeWeChatURL}/__fake__/faults`, { path, errcode, times }),
  phoneCode: (appid, phone) => postJson(`${env.fakeWeChatURL}/__fake__/phone-codes`, { appid, phone }).then((a) => a.code),
  stats: () => getJson(`${env.fakeWeChatURL}/__fake__/stats`).then((r) => r.body)
}

/** GET below the API with exactly these headers (no client): to see what the server says to a token. */
function rawGet (path, headers) {
  return getJson(env.baseURL + path, headers)
}

async function rejection (promise) {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('expected a rejection')
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

module.exports = { env, newPhone, sameStorage, fake, rawGet, rejection, sleep }

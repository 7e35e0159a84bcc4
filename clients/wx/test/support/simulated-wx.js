'use strict'
// A stand-in for the mini-program's `wx`, for tests in Node: one simulated phone.
//
// - login() asks the fake WeChat server (POST /__fake__/codes) for a code of this
//   phone's user, as WeChat would hand one to wx.login;
// - request() does real HTTP and answers as wx.request does
//   (success({ statusCode, data, header }) / fail({ errMsg }));
// - the storage is a Map; requestSubscribeMessage answers from a table.
// Everything the client does is recorded in `log` for the tests to count.

const http = require('node:http')
const https = require('node:https')

const agentOptions = { keepAlive: false }
const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) }

function postJson (url, body) {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body))
    const target = new URL(url)
    const req = (target.protocol === 'https:' ? https : http).request(target, {
      method: 'POST',
      agent: agents[target.protocol],
      headers: { 'Content-Type': 'application/json', 'Content-Length': payload.length }
    }, (res) => {
      const chunks = []
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        if (res.statusCode !== 200) return reject(new Error(`${url}: HTTP ${res.statusCode} ${text}`))
        resolve(JSON.parse(text))
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}

function queryString (data) {
  return Object.keys(data)
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(String(data[k]))}`)
    .join('&')
}

/**
 * @param {object} phone
 * @param {string} phone.fakeWeChatURL  base URL of the fake WeChat server
 * @param {string} phone.appid          the mini-program this phone runs
 * @param {string} phone.openid         the WeChat user on this phone
 * @param {string} [phone.unionid]
 * @param {boolean} [phone.blocked]     WeChat calls the user risky (40226 at login)
 * @param {Map} [phone.storage]         share one to simulate the same phone's storage
 */
function simulatedWx (phone) {
  const storage = phone.storage || new Map()
  const subscribeAnswers = {}
  const log = { logins: 0, loginFailures: 0, requests: [], subscribeAsks: [] }
  let nextLoginFault = null
  let nextSubscribeFault = null

  const wx = {
    log,
    storage,
    /** The session_key WeChat gave the last login (to encrypt wx.getUserInfo data). */
    sessionKey: null,
    /** The next wx.login fails with this errMsg. */
    failNextLogin (errMsg) { nextLoginFault = errMsg },
    /** The next wx.requestSubscribeMessage fails with this errMsg. */
    failNextSubscribe (errMsg) { nextSubscribeFault = errMsg },
    /** How the user answers wx.requestSubscribeMessage: { tmplId: 'accept' | 'reject' | 'ban' }. */
    answerSubscriptions (table) { Object.assign(subscribeAnswers, table) },

    login ({ success, fail, complete } = {}) {
      log.logins += 1
      const done = (ok, value) => {
        if (ok && success) success(value)
        if (!ok && fail) fail(value)
        if (complete) complete(value)
      }
      if (nextLoginFault) {
        const errMsg = nextLoginFault
        nextLoginFault = null
        log.loginFailures += 1
        setImmediate(() => done(false, { errMsg }))
        return
      }
      const body = { appid: phone.appid, openid: phone.openid, blocked: Boolean(phone.blocked) }
      if (phone.unionid) body.unionid = phone.unionid
      postJson(`${phone.fakeWeChatURL}/__fake__/codes`, body).then(
        (answer) => {
          wx.sessionKey = answer.session_key || null
          done(true, { code: answer.code, errMsg: 'login:ok' })
        },
        (err) => {
          log.loginFailures += 1
          done(false, { errMsg: `login:fail ${err.message}` })
        }
      )
    },

    request (options) {
      const method = (options.method || 'GET').toUpperCase()
      const header = Object.assign({}, options.header)
      let url = options.url
      let body = null
      if (options.data !== undefined && options.data !== null) {
        if (method === 'GET' && typeof options.data === 'object') {
          url += (url.includes('?') ? '&' : '?') + queryString(options.data)
        } else if (typeof options.data === 'string') {
          body = Buffer.from(options.data)
        } else if (options.data instanceof ArrayBuffer) {
          body = Buffer.from(options.data)
        } else {
          // wx.request's default content-type is application/json: the object as JSON.
          body = Buffer.from(JSON.stringify(options.data))
          if (!Object.keys(header).some((k) => k.toLowerCase() === 'content-type')) {
            header['Content-Type'] = 'application/json'
          }
        }
      }
      if (body) header['Content-Length'] = String(body.length)
      const target = new URL(url)
      const entry = {
        method,
        url,
        path: target.pathname,
        auth: header.Authorization || header.authorization || null,
        status: null,
        header: null,
        error: null,
        startedAt: Date.now(),
        endedAt: null
      }
      log.requests.push(entry)
      let settled = false
      const finish = (ok, value) => {
        if (settled) return
        settled = true
        entry.endedAt = Date.now()
        if (ok) {
          entry.status = value.statusCode
          entry.header = value.header
          if (options.success) options.success(value)
        } else {
          entry.error = value.errMsg
          if (options.fail) options.fail(value)
        }
        if (options.complete) options.complete(value)
      }
      const req = (target.protocol === 'https:' ? https : http).request(target, {
        method,
        headers: header,
        agent: agents[target.protocol]
      }, (res) => {
        const chunks = []
        res.on('data', (chunk) => chunks.push(chunk))
        res.on('error', (err) => finish(false, { errMsg: `request:fail ${err.message}` }))
        res.on('end', () => {
          const raw = Buffer.concat(chunks)
          let data
          if (options.responseType === 'arraybuffer') {
            data = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)
          } else {
            data = raw.toString('utf8')
            if ((options.dataType || 'json') === 'json') {
              try { data = JSON.parse(data) } catch (err) { /* wx hands over the text */ }
            }
          }
          finish(true, { statusCode: res.statusCode, data, header: Object.assign({}, res.headers), errMsg: 'request:ok' })
        })
      })
      if (options.timeout) {
        req.setTimeout(options.timeout, () => {
          req.destroy()
          finish(false, { errMsg: 'request:fail timeout' })
        })
      }
      req.on('error', (err) => finish(false, { errMsg: `request:fail ${err.message}` }))
      req.end(body || undefined)
      return {
        abort () {
          req.destroy()
          finish(false, { errMsg: 'request:fail abort' })
        }
      }
    },

    getStorageSync (key) {
      return storage.has(key) ? storage.get(key) : ''
    },
    setStorageSync (key, value) {
      storage.set(key, value)
    },
    removeStorageSync (key) {
      storage.delete(key)
    },

    requestSubscribeMessage ({ tmplIds, success, fail, complete }) {
      log.subscribeAsks.push(tmplIds.slice())
      const fault = nextSubscribeFault
      nextSubscribeFault = null
      const answer = { errMsg: fault || 'requestSubscribeMessage:ok' }
      if (!fault) for (const id of tmplIds) answer[id] = subscribeAnswers[id] || 'reject'
      setImmediate(() => {
        if (!fault && success) success(answer)
        if (fault && fail) fail(answer)
        if (complete) complete(answer)
      })
    }
  }
  return wx
}

/** The requests of a log that went to `path` (ending with it), with `method`. */
function requestsTo (log, method, pathEnd) {
  return log.requests.filter((r) => r.method === method && r.path.endsWith(pathEnd))
}

module.exports = { simulatedWx, requestsTo, postJson }

'use strict'
/*
 * minihub-wx: the mini-program side of MiniHub.
 *
 * Plain ES2017 in CommonJS with no dependencies, so that it runs in the
 * mini-program runtime as it is (and through WeChat DevTools' "build npm").
 * Public names: createClient, MiniHubError. Everything else is private.
 */

const DEFAULT_TIMEOUT_MS = 10000
const DEFAULT_RETRIES = 2
// Longest wait a Retry-After can impose; a longer one is cut to this.
const RETRY_AFTER_CAP_MS = 30000
// Waits between tries without a Retry-After: 0.2 s, 0.4 s, 0.8 s, ...
const BACKOFF_BASE_MS = 200
// Only these may be sent again after a failure: the server may have acted on a POST.
const RETRIABLE_METHODS = { GET: true, PUT: true, DELETE: true }
const RETRIABLE_STATUSES = { 429: true, 503: true }
// A 401 with one of these is cured by a fresh wx.login.
const RELOGIN_CODES = { unauthenticated: true, session_expired: true }
const APPID_PATTERN = /^wx[0-9a-f]{16}$/

/** Every rejection of the client. */
class MiniHubError extends Error {
  constructor (init) {
    const o = init || {}
    super(o.message || o.code || 'MiniHub request failed')
    // Keeps instanceof working where classes are compiled down to ES5.
    Object.setPrototypeOf(this, MiniHubError.prototype)
    this.name = 'MiniHubError'
    this.status = typeof o.status === 'number' ? o.status : 0
    this.code = o.code || 'http_error'
    this.requestId = o.requestId || null
    this.fields = Array.isArray(o.fields) ? o.fields : []
  }
}

// Logins in flight, per wx object and storage key: clients that share a stored
// token also share the one login that replaces it.
const loginsInFlight = new WeakMap()

function createClient (options) {
  const opts = options || {}
  const wxApi = opts.wx || (typeof wx !== 'undefined' ? wx : null) // eslint-disable-line no-undef
  if (!wxApi || typeof wxApi.request !== 'function') {
    throw new TypeError('minihub-wx: no wx object (pass options.wx outside a mini-program)')
  }
  if (typeof opts.baseURL !== 'string' || !/^https?:\/\/\S+$/.test(opts.baseURL)) {
    throw new TypeError('minihub-wx: baseURL must be an http(s) URL, e.g. https://api.example.com/api/v2')
  }
  if (typeof opts.appid !== 'string' || !APPID_PATTERN.test(opts.appid)) {
    throw new TypeError('minihub-wx: appid must be "wx" followed by 16 lowercase hex characters')
  }
  const baseURL = opts.baseURL.replace(/\/+$/, '')
  const appid = opts.appid
  const storageKey = opts.storageKey || 'minihub:token:' + appid
  const timeoutMs = positiveNumber(opts.timeoutMs, DEFAULT_TIMEOUT_MS)
  const retries = opts.retries === undefined ? DEFAULT_RETRIES : Math.max(0, Math.floor(opts.retries) || 0)

  // --- the token ------------------------------------------------------------------------
  // Storage is the truth (several clients may share it); memory only stands in
  // when the storage itself fails (quota, a broken runtime).
  let storageBroken = false
  let memoryToken = null

  function tokenGet () {
    if (storageBroken) return memoryToken
    try {
      const value = wxApi.getStorageSync(storageKey)
      return typeof value === 'string' && value ? value : null
    } catch (err) {
      return memoryToken
    }
  }

  function tokenSet (token) {
    memoryToken = token
    try {
      wxApi.setStorageSync(storageKey, token)
      storageBroken = false
    } catch (err) {
      storageBroken = true
    }
  }

  function tokenRemove () {
    memoryToken = null
    try {
      wxApi.removeStorageSync(storageKey)
    } catch (err) {
      // Nothing stored, or nothing we can do about it.
    }
  }

  // --- login ----------------------------------------------------------------------------
  function sharedLogin () {
    let byKey = loginsInFlight.get(wxApi)
    if (!byKey) {
      byKey = new Map()
      loginsInFlight.set(wxApi, byKey)
    }
    let pending = byKey.get(storageKey)
    if (!pending) {
      pending = loginOnce()
      byKey.set(storageKey, pending)
      const forget = () => {
        if (byKey.get(storageKey) === pending) byKey.delete(storageKey)
      }
      pending.then(forget, forget)
    }
    return pending
  }

  async function loginOnce () {
    const code = await wxLoginCode()
    const outcome = await send('POST', '/auth/login', { data: { code: code }, token: null })
    const res = outcome.response
    if (!res || res.statusCode !== 200) throw errorOf(outcome)
    const body = res.data
    if (!body || typeof body.token !== 'string' || !body.token) {
      throw new MiniHubError({
        status: res.statusCode,
        code: 'bad_response',
        message: 'The login answer has no token.',
        requestId: headerOf(res, 'x-request-id')
      })
    }
    tokenSet(body.token)
    return { token: body.token, expiresIn: body.expires_in, created: body.created, user: body.user }
  }

  function wxLoginCode () {
    return new Promise((resolve, reject) => {
      const failed = (err) => reject(new MiniHubError({
        status: 0,
        code: 'wx_login_failed',
        message: (err && err.errMsg) || 'wx.login failed'
      }))
      try {
        wxApi.login({
          success: (res) => (res && res.code ? resolve(res.code) : failed(res)),
          fail: failed
        })
      } catch (err) {
        failed({ errMsg: String(err && err.message) })
      }
    })
  }

  // The token to use instead of `stale`, which the server refused: another
  // call's login may already have replaced it, or be under way.
  async function tokenAfterRefusal (stale) {
    const current = tokenGet()
    if (current && current !== stale) return current
    if (current === stale) tokenRemove()
    return (await sharedLogin()).token
  }

  // --- transport ------------------------------------------------------------------------
  function urlOf (path, query) {
    const parts = []
    const q = query || {}
    Object.keys(q).forEach((name) => {
      const values = Array.isArray(q[name]) ? q[name] : [q[name]]
      values.forEach((value) => {
        if (value === undefined || value === null) return
        parts.push(encodeURIComponent(name) + '=' + encodeURIComponent(String(value)))
      })
    })
    const cleanPath = path.charAt(0) === '/' ? path : '/' + path
    return baseURL + cleanPath + (parts.length ? '?' + parts.join('&') : '')
  }

  // One wx.request; resolves { response } or { failure }, never rejects.
  function sendOnce (method, url, header, data, responseType) {
    return new Promise((resolve) => {
      let settled = false
      let task = null
      const finish = (outcome) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(outcome)
      }
      // wx.request has its own timeout; this one also covers runtimes that ignore it.
      const timer = setTimeout(() => {
        finish({ failure: new MiniHubError({ status: 0, code: 'timeout', message: 'request:fail timeout' }) })
        if (task && typeof task.abort === 'function') {
          try { task.abort() } catch (err) { /* already over */ }
        }
      }, timeoutMs)
      const request = {
        url: url,
        method: method,
        header: header,
        timeout: timeoutMs,
        success: (res) => finish({ response: res }),
        fail: (err) => finish({ failure: networkError(err) })
      }
      if (data !== undefined) request.data = data
      if (responseType) request.responseType = responseType
      try {
        task = wxApi.request(request)
      } catch (err) {
        finish({ failure: networkError({ errMsg: 'request:fail ' + String(err && err.message) }) })
      }
    })
  }

  // Sends, retrying GET, PUT and DELETE on network failures, 429 and 503.
  async function send (method, path, options) {
    const header = { 'X-Mini-Program': appid }
    if (options.token) header.Authorization = 'Bearer ' + options.token
    if (options.data !== undefined) header['Content-Type'] = 'application/json'
    const url = urlOf(path, options.query)
    const mayRetry = RETRIABLE_METHODS[method] === true
    for (let attempt = 0; ; attempt++) {
      const outcome = await sendOnce(method, url, header, options.data, options.responseType)
      const res = outcome.response
      const retriable = outcome.failure || RETRIABLE_STATUSES[res.statusCode] === true
      if (!mayRetry || !retriable || attempt >= retries) return outcome
      await sleep(retryDelayMs(attempt, res ? headerOf(res, 'retry-after') : null))
    }
  }

  // --- requests -------------------------------------------------------------------------
  async function request (spec) {
    const s = spec || {}
    if (typeof s.path !== 'string' || !s.path) throw new TypeError('minihub-wx: request needs a path')
    const method = (s.method || 'GET').toUpperCase()
    const auth = s.auth || defaultAuth(method, s.path)
    let token = null
    if (auth === 'required') token = tokenGet() || (await sharedLogin()).token
    else if (auth === 'optional') token = tokenGet()
    const options = { query: s.query, data: s.data, responseType: s.responseType, token: token }
    let outcome = await send(method, s.path, options)
    if (token && refusesToken(outcome)) {
      options.token = await tokenAfterRefusal(token)
      outcome = await send(method, s.path, options)
      if (refusesToken(outcome)) {
        // A fresh login did not help: keep no token that the server refuses.
        if (tokenGet() === options.token) tokenRemove()
        throw errorOf(outcome)
      }
    }
    const res = outcome.response
    if (!res || res.statusCode < 200 || res.statusCode >= 300) throw errorOf(outcome)
    if (res.statusCode === 204) return undefined
    return s.responseType === 'arraybuffer' ? res.data : jsonOf(res.data)
  }

  async function login () {
    return sharedLogin()
  }

  async function logout () {
    const token = tokenGet()
    if (!token) return undefined
    let outcome
    try {
      outcome = await send('POST', '/auth/logout', { token: token })
    } finally {
      if (tokenGet() === token) tokenRemove()
    }
    const res = outcome.response
    // 401: the server no longer knows the token, which is what logging out wants.
    if (res && ((res.statusCode >= 200 && res.statusCode < 300) || res.statusCode === 401)) return undefined
    throw errorOf(outcome)
  }

  function requestSubscriptions (templateIds) {
    const ids = Array.isArray(templateIds) ? templateIds.slice() : []
    // wx.requestSubscribeMessage must run in the tap handler itself: no await before it.
    const asked = new Promise((resolve, reject) => {
      const failed = (err) => reject(new MiniHubError({
        status: 0,
        code: 'wx_subscribe_failed',
        message: (err && err.errMsg) || 'wx.requestSubscribeMessage failed'
      }))
      try {
        wxApi.requestSubscribeMessage({ tmplIds: ids, success: resolve, fail: failed })
      } catch (err) {
        failed({ errMsg: String(err && err.message) })
      }
    })
    return asked.then((answer) => {
      const accepted = ids.filter((id, index) => answer && answer[id] === 'accept' && ids.indexOf(id) === index)
      if (!accepted.length) return { granted: {} }
      return request({ method: 'POST', path: '/me/subscriptions', data: { template_ids: accepted }, auth: 'required' })
    })
  }

  const albumPath = (id) => '/albums/' + encodeURIComponent(String(id))

  return {
    login: login,
    logout: logout,
    hasToken: () => tokenGet() !== null,
    request: request,
    albums: {
      list: (page) => request({ method: 'GET', path: '/albums', query: pageQuery(page), auth: 'optional' }),
      get: (id) => request({ method: 'GET', path: albumPath(id), auth: 'optional' }),
      play: (id) => request({ method: 'POST', path: albumPath(id) + '/plays', auth: 'none' }),
      favorite: (id) => request({ method: 'PUT', path: albumPath(id) + '/favorite', auth: 'required' }),
      unfavorite: (id) => request({ method: 'DELETE', path: albumPath(id) + '/favorite', auth: 'required' })
    },
    me: {
      get: () => request({ method: 'GET', path: '/me', auth: 'required' }),
      update: (fields) => request({ method: 'POST', path: '/me', data: fields || {}, auth: 'required' }),
      phone: (code) => request({ method: 'POST', path: '/me/phone', data: { code: code }, auth: 'required' }),
      userinfo: (info) => request({ method: 'POST', path: '/me/userinfo', data: userinfoBody(info), auth: 'required' }),
      favorites: (page) => request({ method: 'GET', path: '/me/favorites', query: pageQuery(page), auth: 'required' })
    },
    subscriptions: { request: requestSubscriptions },
    content: {
      check: (text) => request({ method: 'POST', path: '/content/check', data: { text: text }, auth: 'required' })
    },
    qrcode: (params) => request({
      method: 'GET',
      path: '/qrcode',
      query: qrcodeQuery(params),
      responseType: 'arraybuffer',
      auth: 'required'
    })
  }
}

// --- helpers without client state ------------------------------------------------------

function defaultAuth (method, path) {
  const bare = path.split('?')[0]
  if (/^\/(auth\/login|ping|health)(\/|$)/.test(bare)) return 'none'
  if (/^\/albums\/[^/]+\/plays$/.test(bare)) return 'none'
  if (method === 'GET' && /^\/albums(\/[^/]+)?$/.test(bare)) return 'optional'
  return 'required'
}

function refusesToken (outcome) {
  const res = outcome.response
  if (!res || res.statusCode !== 401) return false
  const envelope = envelopeOf(res)
  // A 401 without our envelope (a proxy's) is treated like unauthenticated.
  return !envelope || RELOGIN_CODES[envelope.code] === true
}

function retryDelayMs (attempt, retryAfter) {
  if (retryAfter !== null && retryAfter !== undefined && String(retryAfter).trim() !== '') {
    const text = String(retryAfter).trim()
    let ms = null
    if (/^\d+(\.\d+)?$/.test(text)) {
      ms = Number(text) * 1000
    } else {
      const at = Date.parse(text)
      if (!isNaN(at)) ms = Math.max(0, at - Date.now())
    }
    if (ms !== null) return Math.min(ms, RETRY_AFTER_CAP_MS)
  }
  return BACKOFF_BASE_MS * Math.pow(2, attempt)
}

function sleep (ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function positiveNumber (value, fallback) {
  return typeof value === 'number' && value > 0 && isFinite(value) ? value : fallback
}

function pageQuery (page) {
  const p = page || {}
  return { cursor: p.cursor, limit: p.limit }
}

function qrcodeQuery (params) {
  const p = params || {}
  return { scene: p.scene, page: p.page, env_version: p.env_version, width: p.width }
}

// wx.getUserInfo's answer (camelCase) as the API wants it.
function userinfoBody (info) {
  const i = info || {}
  const body = { encrypted_data: i.encryptedData, iv: i.iv }
  if (i.rawData !== undefined && i.rawData !== null) body.raw_data = i.rawData
  if (i.signature !== undefined && i.signature !== null) body.signature = i.signature
  return body
}

function headerOf (res, name) {
  const header = res.header || res.headers || {}
  const wanted = name.toLowerCase()
  const key = Object.keys(header).find((k) => k.toLowerCase() === wanted)
  return key === undefined ? null : header[key]
}

function networkError (err) {
  const message = (err && err.errMsg) || 'request:fail'
  const code = /timeout|timed out/i.test(message) ? 'timeout' : 'network_error'
  return new MiniHubError({ status: 0, code: code, message: message })
}

// JSON from whatever wx.request handed over: parsed already, text, or an ArrayBuffer.
function jsonOf (data) {
  let value = data
  if (typeof ArrayBuffer !== 'undefined' && value instanceof ArrayBuffer) value = utf8Decode(value)
  if (typeof value === 'string') {
    if (!value) return undefined
    try {
      return JSON.parse(value)
    } catch (err) {
      return value
    }
  }
  return value
}

function envelopeOf (res) {
  const body = jsonOf(res.data)
  const error = body && typeof body === 'object' ? body.error : null
  return error && typeof error === 'object' && typeof error.code === 'string' ? error : null
}

function errorOf (outcome) {
  if (outcome.failure) return outcome.failure
  const res = outcome.response
  const envelope = envelopeOf(res)
  const requestId = headerOf(res, 'x-request-id') || (envelope && envelope.request_id) || null
  if (!envelope) {
    return new MiniHubError({ status: res.statusCode, code: 'http_error', message: 'HTTP ' + res.statusCode, requestId: requestId })
  }
  return new MiniHubError({
    status: res.statusCode,
    code: envelope.code,
    message: envelope.message,
    requestId: requestId,
    fields: envelope.fields
  })
}

function utf8Decode (buffer) {
  if (typeof TextDecoder !== 'undefined') return new TextDecoder('utf-8').decode(buffer)
  // The mini-program runtime has no TextDecoder on every base library.
  const bytes = new Uint8Array(buffer)
  let out = ''
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]
    let cp
    let extra
    if (b < 0x80) { cp = b; extra = 0 } else if (b >= 0xf0) { cp = b & 0x07; extra = 3 } else if (b >= 0xe0) { cp = b & 0x0f; extra = 2 } else { cp = b & 0x1f; extra = 1 }
    for (let k = 1; k <= extra; k++) cp = (cp << 6) | (bytes[i + k] & 0x3f)
    i += extra + 1
    if (cp > 0xffff) {
      cp -= 0x10000
      out += String.fromCharCode(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff))
    } else {
      out += String.fromCharCode(cp)
    }
  }
  return out
}

module.exports = { createClient: createClient, MiniHubError: MiniHubError }
// For this package's own tests only; not part of the API.
Object.defineProperty(module.exports, '_private', {
  value: { retryDelayMs: retryDelayMs, utf8Decode: utf8Decode, defaultAuth: defaultAuth },
  enumerable: false
})

'use strict'
// A small local HTTP server for the unit tests: it plays the fake WeChat
// server's code endpoint and a MiniHub that can be steered into what the real
// one is hard to drive into on demand (a hang, a dropped connection, a
// Retry-After of 1 s, a 401 after a fresh login, an answer that is not JSON).

const http = require('node:http')

const USER = {
  id: 1,
  openid: 'openid-1',
  unionid: null,
  nickname: '',
  avatar_url: '',
  phone: null,
  created_at: '2024-01-01T00:00:00Z'
}

async function startLocalServer () {
  let requestNumber = 0
  const state = {
    codes: 0,
    tokens: new Set(),
    issued: 0,
    hits: [],
    overrides: [],
    loginDelayMs: 0
  }

  function reply (res, status, body, headers) {
    const extra = Object.assign({}, headers)
    if (status === 204 || body === undefined) {
      res.writeHead(status, extra)
      return res.end()
    }
    if (Buffer.isBuffer(body) || typeof body === 'string') {
      res.writeHead(status, Object.assign({ 'Content-Type': 'text/plain' }, extra))
      return res.end(body)
    }
    const payload = Buffer.from(JSON.stringify(body))
    res.writeHead(status, Object.assign({ 'Content-Type': 'application/json' }, extra))
    res.end(payload)
  }

  function error (res, status, code, message, extra) {
    const requestId = res.getHeader('X-Request-ID')
    const envelope = { code, message, request_id: requestId }
    if (extra && extra.fields) envelope.fields = extra.fields
    reply(res, status, { error: envelope }, extra && extra.headers)
  }

  function bearer (hit) {
    const header = hit.headers.authorization || ''
    return header.startsWith('Bearer ') ? header.slice(7) : null
  }

  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => {
      const url = new URL(req.url, 'http://local')
      const raw = Buffer.concat(chunks).toString('utf8')
      let body = null
      try { body = raw ? JSON.parse(raw) : null } catch (err) { body = raw }
      const hit = {
        method: req.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        rawQuery: url.search,
        headers: req.headers,
        body,
        at: Date.now()
      }
      requestNumber += 1
      res.setHeader('X-Request-ID', `req-${requestNumber}`)
      if (hit.path === '/__fake__/codes') {
        state.codes += 1
        return reply(res, 200, { code: `code-${state.codes}`, session_key: 'c2Vzc2lvbi1rZXktMDAwMA==' })
      }
      state.hits.push(hit)
      const override = state.overrides.find((o) => o.method === hit.method && o.path === hit.path && o.times > 0)
      if (override) {
        override.times -= 1
        return override.respond(hit, res, { reply, error })
      }
      route(hit, res)
    })
  })

  function route (hit, res) {
    if (hit.method === 'POST' && hit.path === '/api/v2/auth/login') {
      const code = hit.body && hit.body.code
      if (typeof code !== 'string' || !code.startsWith('code-')) {
        return error(res, 400, 'wechat_code_invalid', 'The login code is invalid.')
      }
      state.issued += 1
      const token = `token-${state.issued}`
      state.tokens.add(token)
      const answer = { token, expires_in: 3600, created: state.issued === 1, user: USER }
      return setTimeout(() => reply(res, 200, answer), state.loginDelayMs)
    }
    if (hit.method === 'POST' && hit.path === '/api/v2/auth/logout') {
      const token = bearer(hit)
      if (!state.tokens.has(token)) return error(res, 401, 'unauthenticated', 'The bearer token is not valid.')
      state.tokens.delete(token)
      return reply(res, 204)
    }
    if (hit.path.startsWith('/api/v2/me') || hit.path === '/api/v2/qrcode' || hit.path.endsWith('/favorite')) {
      if (!state.tokens.has(bearer(hit))) return error(res, 401, 'unauthenticated', 'The bearer token is not valid.')
      if (hit.method === 'GET' && hit.path === '/api/v2/me') return reply(res, 200, USER)
      if (hit.method === 'POST' && hit.path === '/api/v2/me/subscriptions') {
        const granted = {}
        for (const id of hit.body.template_ids) granted[id] = 1
        return reply(res, 200, { granted })
      }
      if (hit.path.endsWith('/favorite')) return reply(res, 204)
      return reply(res, 200, { echo: hit.body })
    }
    if (hit.method === 'GET' && hit.path === '/api/v2/albums') {
      return reply(res, 200, { items: [], next_cursor: null })
    }
    error(res, 404, 'not_found', 'No such thing.')
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${server.address().port}`
  return {
    url,
    baseURL: `${url}/api/v2`,
    state,
    /** Answer the next `times` METHOD path requests with `respond(hit, res, helpers)`. */
    override (method, path, respond, times = 1) {
      state.overrides.push({ method, path: `/api/v2${path}`, respond, times })
    },
    hitsTo (method, path) {
      return state.hits.filter((h) => h.method === method && h.path === `/api/v2${path}`)
    },
    revokeAll () { state.tokens.clear() },
    close () {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(resolve))
    }
  }
}

module.exports = { startLocalServer, USER }

'use strict'
// The example mini-program (example/) run against the live server, with the
// App/Page/getApp globals a mini-program gets and a simulated wx.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')

const { env, newPhone } = require('../support/live')

const EXAMPLE = path.join(__dirname, '../../example')

// setData with the paths mini-programs use: "albums[3].favorited".
function setData (target, patch) {
  for (const [key, value] of Object.entries(patch)) {
    const steps = key.replace(/\[(\d+)\]/g, '.$1').split('.')
    let node = target
    for (const step of steps.slice(0, -1)) node = node[step]
    node[steps[steps.length - 1]] = value
  }
}

describe('example page (live)', () => {
  let phone
  let app
  let pageConfig
  const toasts = []
  const saved = {}

  before(() => {
    phone = newPhone('example')
    phone.wx.showToast = (options) => toasts.push(options)
    phone.wx.stopPullDownRefresh = () => {}
    for (const name of ['wx', 'App', 'Page', 'getApp']) saved[name] = global[name]
    global.wx = phone.wx
    global.App = (config) => { app = config }
    global.Page = (config) => { pageConfig = config }
    global.getApp = () => app
    require(path.join(EXAMPLE, 'app.js'))
    require(path.join(EXAMPLE, 'pages/albums/albums.js'))
    app.globalData.baseURL = env.baseURL
    app.globalData.appid = env.appid
    app.onLaunch()
  })

  after(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete global[name]
      else global[name] = value
    }
  })

  function openPage () {
    const page = Object.assign(Object.create(pageConfig), { data: JSON.parse(JSON.stringify(pageConfig.data)) })
    page.setData = (patch) => setData(page.data, patch)
    return page
  }

  it('lists the albums page by page and toggles a favourite', async () => {
    const page = openPage()
    await page.onLoad()
    assert.equal(page.data.error, '')
    assert.equal(page.data.albums.length, 20)
    await page.onReachBottom()
    assert.equal(page.data.albums.length, env.albumCount)
    assert.equal(page.data.nextCursor, null)

    const tap = (index) => page.onToggleFavorite({ currentTarget: { dataset: { index: String(index) } } })
    await tap(2)
    assert.equal(page.data.albums[2].favorited, true)
    assert.equal(phone.wx.log.logins, 1, 'one login: at launch')
    const favorites = await app.api.me.favorites()
    assert.deepEqual(favorites.items.map((a) => a.id), [page.data.albums[2].id])
    await tap(2)
    assert.equal(page.data.albums[2].favorited, false)
    assert.deepEqual((await app.api.me.favorites()).items, [])
    assert.deepEqual(toasts, [])
  })

  it('undoes the heart and shows the message when the server refuses', async () => {
    const page = openPage()
    await page.onLoad()
    page.data.albums[0].id = env.otherAlbumId // an album of another mini-program: not_found
    await page.onToggleFavorite({ currentTarget: { dataset: { index: '0' } } })
    assert.equal(page.data.albums[0].favorited, false)
    assert.equal(toasts.length, 1)
    assert.equal(toasts[0].icon, 'none')
    assert.match(toasts[0].title, /\S/)
  })
})

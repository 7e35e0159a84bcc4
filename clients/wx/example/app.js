// Example mini-program using minihub-wx: one client for the whole app.
// After `npm install minihub-wx` and DevTools' "Tools > Build npm", the
// require below resolves to miniprogram_npm/minihub-wx.
const { createClient } = require('minihub-wx')

App({
  globalData: {
    // Your MiniHub deployment and this mini-program's appid.
    baseURL: 'https://api.example.com/api/v2',
    appid: 'wx0123456789abcdef'
  },

  onLaunch () {
    this.api = createClient({ baseURL: this.globalData.baseURL, appid: this.globalData.appid })
    // Log in early so that the first page shows this user's favourites; pages
    // need not wait for it: a call that needs the token waits for this login.
    this.api.login().catch(() => {
      // No network or WeChat busy: the next call that needs a token tries again.
    })
  }
})

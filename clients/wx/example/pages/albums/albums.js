// The album list: pages through GET /albums and toggles favourites. Uses only
// the public API of minihub-wx. Handlers return their promise (WeChat ignores
// it) so that they can be awaited in tests.
const PAGE_SIZE = 20

Page({
  data: {
    albums: [],
    nextCursor: null,
    loading: false,
    error: ''
  },

  onLoad () {
    return this.loadPage(null)
  },

  onPullDownRefresh () {
    return this.loadPage(null).then(() => wx.stopPullDownRefresh())
  },

  onReachBottom () {
    if (!this.data.nextCursor || this.data.loading) return Promise.resolve()
    return this.loadPage(this.data.nextCursor)
  },

  onRetry () {
    return this.loadPage(this.data.nextCursor)
  },

  async loadPage (cursor) {
    const api = getApp().api
    this.setData({ loading: true, error: '' })
    try {
      const page = await api.albums.list({ cursor: cursor, limit: PAGE_SIZE })
      this.setData({
        albums: cursor ? this.data.albums.concat(page.items) : page.items,
        nextCursor: page.next_cursor,
        loading: false
      })
    } catch (err) {
      // err is a MiniHubError: its message is fit to show.
      this.setData({ loading: false, error: err.message })
    }
  },

  async onToggleFavorite (event) {
    const api = getApp().api
    const index = Number(event.currentTarget.dataset.index)
    const album = this.data.albums[index]
    const key = 'albums[' + index + '].favorited'
    const wanted = !album.favorited
    this.setData({ [key]: wanted }) // at once; undone if the server says no
    try {
      if (wanted) await api.albums.favorite(album.id)
      else await api.albums.unfavorite(album.id)
    } catch (err) {
      this.setData({ [key]: !wanted })
      wx.showToast({ title: err.message, icon: 'none' })
    }
  }
})

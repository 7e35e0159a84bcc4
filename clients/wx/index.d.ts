// Type declarations of minihub-wx.
//
// The interfaces tagged @schema mirror a schema of MiniHub's OpenAPI document
// (GET /api/v2/openapi.json); the package's tests check them against it.
// @rename: the schema's field has another name here; @extra: a field of the
// client's own; @loose: the client normalises the field's type.

/** Whether a request carries the token: `required` logs in first when there is none. */
export type Auth = 'required' | 'optional' | 'none'

export interface ClientOptions {
  /** e.g. "https://api.example.com/api/v2" (a trailing slash is ignored) */
  baseURL: string;
  /** "wx" and 16 lowercase hex characters; sent as X-Mini-Program */
  appid: string;
  /** the mini-program's `wx`; defaults to the global one */
  wx?: WxLike;
  /** where the token is stored; default "minihub:token:<appid>" */
  storageKey?: string;
  /** per request, default 10000 */
  timeoutMs?: number;
  /** extra tries of GET, PUT and DELETE, default 2 */
  retries?: number;
}

/** The part of `wx` the client uses. */
export interface WxLike {
  login(options: { success?: (res: { code: string }) => void; fail?: (err: { errMsg: string }) => void }): void;
  request(options: object): unknown;
  getStorageSync(key: string): unknown;
  setStorageSync(key: string, value: string): void;
  removeStorageSync(key: string): void;
  requestSubscribeMessage(options: { tmplIds: string[]; success?: (res: Record<string, string>) => void; fail?: (err: { errMsg: string }) => void }): void;
}

/** A user of this mini-program. @schema UserOut */
export interface User {
  id: number;
  openid: string;
  unionid: string | null;
  nickname: string;
  avatar_url: string;
  phone: string | null;
  /** ISO 8601 date-time */
  created_at: string;
}

/** What login() resolves to. @schema LoginOut @rename expires_in expiresIn */
export interface LoginResult {
  token: string;
  /** seconds the token stays valid */
  expiresIn: number;
  /** true on the user's first login */
  created: boolean;
  user: User;
}

/** @schema AlbumOut */
export interface Album {
  id: number;
  title: string;
  artist: string;
  cover_url: string;
  /** number of tracks */
  tracks: number;
  /** null while the server's play counter is unreachable */
  plays: number | null;
  /** this user's favourite (false without a token) */
  favorited: boolean;
}

/** One page of albums; pass next_cursor back as `cursor` for the next. @schema AlbumPageOut */
export interface AlbumPage {
  items: Album[];
  next_cursor: string | null;
}

/** @schema PlaysOut */
export interface PlayCount {
  plays: number;
}

/** msgSecCheck's verdict. @schema ContentCheckOut */
export interface ContentCheckResult {
  suggest: 'pass' | 'review' | 'risky';
  label: number;
}

/** One-time subscriptions not yet used, per accepted template. @schema SubscriptionsOut */
export interface SubscriptionsResult {
  granted: Record<string, number>;
}

/** Where a validation error points, e.g. ["body", "nickname"]. @schema FieldError */
export interface FieldError {
  loc: Array<string | number>;
  msg: string;
}

/** @schema PageIn */
export interface PageOptions {
  /** next_cursor of the previous page; omit (or null) for the first page */
  cursor?: string | null;
  /** 1 to 100, default 20 */
  limit?: number;
}

/** @schema ProfileIn */
export interface ProfileUpdate {
  /** at most 64 characters, emoji kept exactly */
  nickname?: string | null;
  /** an http(s) URL */
  avatar_url?: string | null;
}

/** wx.getUserInfo's answer (its other fields are ignored). @schema UserInfoIn @rename encrypted_data encryptedData @rename raw_data rawData */
export interface UserInfoData {
  encryptedData: string;
  iv: string;
  rawData?: string | null;
  signature?: string | null;
}

/** @schema QrCodeQuery */
export interface QrCodeOptions {
  /** 1-32 characters of 0-9 A-Z a-z !#$&'()*+,/:;=?@-._~ */
  scene: string;
  /** e.g. "pages/index/index", no leading "/"; default: the home page */
  page?: string | null;
  env_version?: 'release' | 'trial' | 'develop';
  /** 280 to 1280 pixels, default 430 */
  width?: number;
}

export interface RequestOptions {
  /** default GET */
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** below baseURL, e.g. "/albums" */
  path: string;
  /** undefined and null values are left out */
  query?: Record<string, string | number | boolean | null | undefined | Array<string | number>>;
  /** sent as JSON */
  data?: unknown;
  /** default: none for /auth/login, /ping, /health* and plays; optional for GET /albums*; else required */
  auth?: Auth;
  /** "arraybuffer" for binary answers */
  responseType?: 'text' | 'arraybuffer';
}

export interface AlbumsApi {
  /** GET /albums; with a token, `favorited` is this user's */
  list(page?: PageOptions): Promise<AlbumPage>;
  /** GET /albums/{id} */
  get(albumId: number): Promise<Album>;
  /** POST /albums/{id}/plays: counts one play */
  play(albumId: number): Promise<PlayCount>;
  /** PUT /albums/{id}/favorite */
  favorite(albumId: number): Promise<void>;
  /** DELETE /albums/{id}/favorite */
  unfavorite(albumId: number): Promise<void>;
}

export interface MeApi {
  /** GET /me */
  get(): Promise<User>;
  /** POST /me (the same as PATCH /me, which wx.request cannot send) */
  update(fields: ProfileUpdate): Promise<User>;
  /** POST /me/phone with the code of <button open-type="getPhoneNumber"> */
  phone(code: string): Promise<User>;
  /** POST /me/userinfo with wx.getUserInfo's encrypted answer */
  userinfo(info: UserInfoData): Promise<User>;
  /** GET /me/favorites */
  favorites(page?: PageOptions): Promise<AlbumPage>;
}

export interface SubscriptionsApi {
  /** wx.requestSubscribeMessage, then POST /me/subscriptions with the accepted ids. Call it from a tap handler. */
  request(templateIds: string[]): Promise<SubscriptionsResult>;
}

export interface ContentApi {
  /** POST /content/check */
  check(text: string): Promise<ContentCheckResult>;
}

export interface MiniHubClient {
  /** wx.login, then POST /auth/login; the token is stored. Concurrent callers share one login. */
  login(): Promise<LoginResult>;
  /** POST /auth/logout; the stored token is removed in any case */
  logout(): Promise<void>;
  /** whether a token is stored (no network) */
  hasToken(): boolean;
  request<T = unknown>(options: RequestOptions): Promise<T>;
  albums: AlbumsApi;
  me: MeApi;
  subscriptions: SubscriptionsApi;
  content: ContentApi;
  /** GET /qrcode: a mini-program code, image/jpeg */
  qrcode(options: QrCodeOptions): Promise<ArrayBuffer>;
}

/** Codes of the error envelope, and the client's own (status 0). */
export type ErrorCode =
  | 'invalid_json' | 'validation_error' | 'miniprogram_required' | 'miniprogram_unknown'
  | 'unauthenticated' | 'session_expired' | 'forbidden' | 'not_found' | 'method_not_allowed'
  | 'payload_too_large' | 'unsupported_media_type' | 'rate_limited' | 'wechat_code_invalid'
  | 'wechat_user_blocked' | 'decrypt_failed' | 'content_risky' | 'wechat_unavailable'
  | 'service_unavailable' | 'bad_request' | 'internal_error'
  | 'network_error' | 'timeout' | 'wx_login_failed' | 'wx_subscribe_failed'
  | 'http_error' | 'bad_response'

/** Every rejection of the client. @schema ErrorBody @rename request_id requestId @extra status @extra name @loose fields @loose request_id */
export declare class MiniHubError extends Error {
  constructor(init?: { status?: number; code?: string; message?: string; requestId?: string | null; fields?: FieldError[] });
  name: 'MiniHubError';
  /** HTTP status; 0 when no answer came (network_error, timeout) or wx itself failed */
  status: number;
  code: ErrorCode | (string & {});
  message: string;
  /** X-Request-ID of the answer, null without one */
  requestId: string | null;
  /** validation errors; empty otherwise */
  fields: FieldError[];
}

export declare function createClient(options: ClientOptions): MiniHubClient;

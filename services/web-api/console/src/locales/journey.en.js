// The console's words for what a user may not see (en).
export default {
  scope: { noBranch: 'No branch {node}: it does not exist or is outside what you may see' },
}

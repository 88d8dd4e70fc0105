// The console's words for what a user may not see (zh-CN).
export default {
  scope: { noBranch: '没有网点 {node}：它不存在，或不在您可以查看的范围内' },
}

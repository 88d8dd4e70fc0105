// The console's Chinese text (the default language).
export default {
  app: { title: 'EQMS 服务大厅管理', language: '语言', logout: '退出登录', changePassword: '修改密码' },
  login: {
    title: '登录', login: '用户名', password: '密码', submit: '登录',
    wrong: '用户名或密码错误', locked: '登录失败次数过多，账户已锁定，{time} 后可再次登录',
    network: '无法连接服务器：{detail}',
  },
  password: {
    title: '修改密码', forced: '管理员重置了你的密码：请先设置新密码再继续。',
    current: '当前密码', new: '新密码', confirm: '确认新密码', submit: '保存',
    mismatch: '两次输入的新密码不一致', rules: '10 至 128 个字符，包含小写字母、大写字母、数字、其他符号中的至少 3 类，且不能与用户名相同。',
    done: '密码已修改', back: '返回',
  },
  menu: { live: '实时大厅', stats: '统计分析', tree: '组织机构' },
  live: {
    pickBranch: '请在左侧选择一个网点查看实时大厅。', branches: '网点',
    status: { connecting: '连接中', live: '实时', reconnecting: '重新连接中…', stopped: '已停止' },
    windows: '窗口', queues: '队列', display: '叫号屏', ratings: '今日最新评价',
    state: { open: '营业', paused: '暂停', closed: '关闭' },
    serving: '正在办理', idle: '空闲', teller: '柜员', device: '评价器', online: '在线',
    offline: '离线', unknown: '未知', since: '自 {time}', pauseReason: '暂停原因',
    prefix: '队列', waiting: '等候人数', longest: '最长等候', estimated: '预计等候',
    number: '票号', window: '窗口', at: '时间', score: '得分', satisfied: '满意',
    unsatisfied: '不满意', neutral: '一般', none: '暂无', day: '营业日',
  },
  stats: {
    node: '机构', period: '期间', group: '分组', query: '查询', figures: '统计指标',
    trend: '趋势（按日）', compare: '同比环比', exportXlsx: '导出 Excel', exportCsv: '导出 CSV',
    member: '分组', current: '本期', previous: '上期', yearBefore: '去年同期',
    change: '较上期', changeYear: '较去年', exported: '已下载 {name}', empty: '没有数据',
    groups: { none: '合计', day: '按日', week: '按周', month: '按月', child: '下级机构',
              window: '按窗口', teller: '按柜员', service: '按业务', hour_of_day: '按时段' },
  },
  error: { title: '出错了', retry: '重试' },
}

-- EQMS demo data for `make run`, loaded after the migrations.
--
-- One head office, two regions, four branches (b0004 in Asia/Urumqi to
-- exercise time zones), 40 windows, 48 tellers, 4 queues, 8 services, one
-- rating device per window plus a spare, settings at hq with overrides at
-- r02 (6-key scale) and b0001 (20 s timeout).
--
-- Idempotent: every row is upserted on its natural key (org path, window
-- (branch, number), employee_no, queue (node, prefix), service (node, code),
-- device serial, settings node), so loading it again restores the same data.
-- Plain SQL without psql meta-commands: it also runs through any driver.

BEGIN;

-- Organisation ---------------------------------------------------------------

INSERT INTO org_node (parent_id, code, name, kind, time_zone)
VALUES (NULL, 'hq', '总行', 'head_office', 'Asia/Shanghai')
ON CONFLICT (parent_id, code) DO UPDATE
    SET name = EXCLUDED.name, kind = EXCLUDED.kind,
        time_zone = EXCLUDED.time_zone
    WHERE (org_node.name, org_node.kind, org_node.time_zone)
          IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.time_zone);

INSERT INTO org_node (parent_id, code, name, kind, time_zone)
SELECT p.id, v.code, v.name, v.kind, v.time_zone
FROM (VALUES
    ('hq', 'r01', '华东区', 'region', 'Asia/Shanghai'),
    ('hq', 'r02', '华南区', 'region', 'Asia/Shanghai')
) AS v (parent, code, name, kind, time_zone)
JOIN org_node p ON p.path = v.parent::ltree
ON CONFLICT (parent_id, code) DO UPDATE
    SET name = EXCLUDED.name, kind = EXCLUDED.kind,
        time_zone = EXCLUDED.time_zone
    WHERE (org_node.name, org_node.kind, org_node.time_zone)
          IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.time_zone);

INSERT INTO org_node (parent_id, code, name, kind, time_zone)
SELECT p.id, v.code, v.name, v.kind, v.time_zone
FROM (VALUES
    ('hq.r01', 'b0001', '上海浦东支行', 'branch', 'Asia/Shanghai'),
    ('hq.r01', 'b0002', '杭州西湖支行', 'branch', 'Asia/Shanghai'),
    ('hq.r02', 'b0003', '广州天河支行', 'branch', 'Asia/Shanghai'),
    ('hq.r02', 'b0004', '乌鲁木齐新华支行', 'branch', 'Asia/Urumqi')
) AS v (parent, code, name, kind, time_zone)
JOIN org_node p ON p.path = v.parent::ltree
ON CONFLICT (parent_id, code) DO UPDATE
    SET name = EXCLUDED.name, kind = EXCLUDED.kind,
        time_zone = EXCLUDED.time_zone
    WHERE (org_node.name, org_node.kind, org_node.time_zone)
          IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.time_zone);

-- Windows: w01.. numbered 1.., "N号窗口"; b0003's last window is closed ---------

INSERT INTO service_window (node_id, number, code, name, active)
SELECT b.id, n, 'w' || lpad(n::text, 2, '0'), n || '号窗口',
       NOT (v.branch = 'hq.r02.b0003' AND n = v.windows)
FROM (VALUES
    ('hq.r01.b0001', 12),
    ('hq.r01.b0002', 8),
    ('hq.r02.b0003', 10),
    ('hq.r02.b0004', 10)
) AS v (branch, windows)
JOIN org_node b ON b.path = v.branch::ltree
CROSS JOIN LATERAL generate_series(1, v.windows) AS n
ON CONFLICT (node_id, number) DO UPDATE
    SET code = EXCLUDED.code, name = EXCLUDED.name, active = EXCLUDED.active
    WHERE (service_window.code, service_window.name, service_window.active)
          IS DISTINCT FROM (EXCLUDED.code, EXCLUDED.name, EXCLUDED.active);

-- Staff: 12 per branch, employee numbers 1<branch:3><seq:2> -------------------

INSERT INTO staff (employee_no, name, node_id, phone, active)
SELECT '1' || lpad(v.branch_no::text, 3, '0') || lpad(v.seq::text, 2, '0'),
       v.name, b.id,
       CASE WHEN v.seq % 4 <> 0 THEN
           '+86139' || lpad(v.branch_no::text, 2, '0')
                    || lpad((v.seq * 1237)::text, 6, '0')
       END,
       v.seq <> 12
FROM (VALUES
    (1, 1, '张伟'), (1, 2, '王芳'), (1, 3, '李娜'), (1, 4, '刘洋'),
    (1, 5, '陈静'), (1, 6, '杨磊'), (1, 7, '赵敏'), (1, 8, '黄晓明'),
    (1, 9, '周杰'), (1, 10, '吴婷'), (1, 11, '徐峰'), (1, 12, '孙丽'),
    (2, 1, '胡军'), (2, 2, '朱红'), (2, 3, '高翔'), (2, 4, '林琳'),
    (2, 5, '何涛'), (2, 6, '郭佳'), (2, 7, '马超'), (2, 8, '罗霞'),
    (2, 9, '梁宇'), (2, 10, '宋雪'), (2, 11, '郑凯'), (2, 12, '谢颖'),
    (3, 1, '韩冰'), (3, 2, '唐俊'), (3, 3, '冯雅'), (3, 4, '于洋'),
    (3, 5, '董浩'), (3, 6, '萧然'), (3, 7, '程刚'), (3, 8, '曹琪'),
    (3, 9, '袁帅'), (3, 10, '邓丽君'), (3, 11, '许诺'), (3, 12, '傅强'),
    (4, 1, '阿依古丽'), (4, 2, '买买提'), (4, 3, '沈鹏'), (4, 4, '曾茜'),
    (4, 5, '彭博'), (4, 6, '吕萌'), (4, 7, '苏畅'), (4, 8, '卢森'),
    (4, 9, '蒋欣'), (4, 10, '蔡明'), (4, 11, '贾玲'), (4, 12, '丁磊')
) AS v (branch_no, seq, name)
JOIN org_node b
    ON b.path = ('hq.r0' || ((v.branch_no + 1) / 2) || '.b'
                 || lpad(v.branch_no::text, 4, '0'))::ltree
ON CONFLICT (employee_no) DO UPDATE
    SET name = EXCLUDED.name, node_id = EXCLUDED.node_id,
        phone = EXCLUDED.phone, active = EXCLUDED.active
    WHERE (staff.name, staff.node_id, staff.phone, staff.active)
          IS DISTINCT FROM
          (EXCLUDED.name, EXCLUDED.node_id, EXCLUDED.phone, EXCLUDED.active);

-- Queues: three for the whole bank, foreign exchange only in 华东区 -------------

INSERT INTO queue (node_id, prefix, name, target_wait_s, number_max)
SELECT n.id, v.prefix, v.name, v.target_wait_s, v.number_max
FROM (VALUES
    ('hq', 'A', '个人业务', 900, 999),
    ('hq', 'B', '对公业务', 1200, 999),
    ('hq', 'V', '贵宾', 300, 999),
    ('hq.r01', 'F', '外汇业务', 900, 999)
) AS v (node, prefix, name, target_wait_s, number_max)
JOIN org_node n ON n.path = v.node::ltree
ON CONFLICT (node_id, prefix) DO UPDATE
    SET name = EXCLUDED.name, target_wait_s = EXCLUDED.target_wait_s,
        number_max = EXCLUDED.number_max
    WHERE (queue.name, queue.target_wait_s, queue.number_max)
          IS DISTINCT FROM
          (EXCLUDED.name, EXCLUDED.target_wait_s, EXCLUDED.number_max);

INSERT INTO service (node_id, code, name, queue_id, active)
SELECT n.id, v.code, v.name, q.id, true
FROM (VALUES
    ('hq', 'cash', '个人存取款', 'hq', 'A'),
    ('hq', 'account', '个人开户', 'hq', 'A'),
    ('hq', 'card', '银行卡业务', 'hq', 'A'),
    ('hq', 'loan', '个人贷款', 'hq', 'A'),
    ('hq', 'corp_account', '对公开户', 'hq', 'B'),
    ('hq', 'corp_settlement', '对公结算', 'hq', 'B'),
    ('hq', 'vip_wealth', '贵宾理财', 'hq', 'V'),
    ('hq.r01', 'fx_exchange', '外币兑换', 'hq.r01', 'F')
) AS v (node, code, name, queue_node, queue_prefix)
JOIN org_node n ON n.path = v.node::ltree
JOIN org_node qn ON qn.path = v.queue_node::ltree
JOIN queue q ON q.node_id = qn.id AND q.prefix = v.queue_prefix
ON CONFLICT (node_id, code) DO UPDATE
    SET name = EXCLUDED.name, queue_id = EXCLUDED.queue_id,
        active = EXCLUDED.active
    WHERE (service.name, service.queue_id, service.active)
          IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.queue_id, EXCLUDED.active);

-- Devices: EQ-<BRANCH>-<WINDOW> at every window, 6-key models in 华南区 ----------

-- Free the demo windows of any other device, so that the upsert below cannot
-- collide on device_window_unique.
UPDATE device d SET window_id = NULL
FROM service_window_path w JOIN org_node b ON b.id = w.node_id
WHERE d.window_id = w.window_id AND b.path <@ 'hq'
  AND d.serial <> 'EQ-' || upper(b.code) || '-' || upper(w.code);

-- (node_id: the stock holding a device, schema 32; a device at a window
-- belongs to its branch, which the trigger device_node sets; the spare is in
-- the head office's stock)
INSERT INTO device (serial, window_id, model, node_id)
SELECT 'EQ-' || upper(b.code) || '-' || upper(w.code), w.id,
       CASE WHEN b.path <@ 'hq.r02' THEN 'EQR-6K' ELSE 'EQR-4K' END, b.id
FROM service_window w JOIN org_node b ON b.id = w.node_id
WHERE b.path <@ 'hq'
UNION ALL
SELECT 'EQ-SPARE-0001', NULL, 'EQR-4K', (SELECT id FROM org_node WHERE path = 'hq')
ON CONFLICT (serial) DO UPDATE
    SET window_id = EXCLUDED.window_id, model = EXCLUDED.model, node_id = EXCLUDED.node_id
    WHERE (device.window_id, device.model, device.node_id)
          IS DISTINCT FROM (EXCLUDED.window_id, EXCLUDED.model, EXCLUDED.node_id);

-- Settings: bank-wide at hq, 6-key scale in 华南区, 20 s timeout at 浦东 -------

INSERT INTO node_settings
    (node_id, rating_timeout_s, repeat_press_s, rating_scale_id, idle_text)
SELECT n.id, v.rating_timeout_s, v.repeat_press_s, s.id, v.idle_text
FROM (VALUES
    ('hq', 30, 10, 'std4', '欢迎光临，竭诚为您服务'),
    ('hq.r02', NULL, NULL, 'std6', NULL),
    ('hq.r01.b0001', 20, NULL, NULL, NULL)
) AS v (node, rating_timeout_s, repeat_press_s, scale, idle_text)
JOIN org_node n ON n.path = v.node::ltree
LEFT JOIN rating_scale s ON s.code = v.scale
ON CONFLICT (node_id) DO UPDATE
    SET rating_timeout_s = EXCLUDED.rating_timeout_s,
        repeat_press_s = EXCLUDED.repeat_press_s,
        rating_scale_id = EXCLUDED.rating_scale_id,
        idle_text = EXCLUDED.idle_text
    WHERE (node_settings.rating_timeout_s, node_settings.repeat_press_s,
           node_settings.rating_scale_id, node_settings.idle_text)
          IS DISTINCT FROM
          (EXCLUDED.rating_timeout_s, EXCLUDED.repeat_press_s,
           EXCLUDED.rating_scale_id, EXCLUDED.idle_text);

-- Alerts (docs/alerts.md): every branch's unsatisfied ratings are told to
-- its supervisor; the demo branch's also to the region's duty manager.
INSERT INTO alert_rule (node_id, kind, template)
SELECT id, 'unsatisfied_rating',
       '【服务评价】{branch} {window}号窗口 {teller}(工号{employee_no}) {time} 收到'
       '不满意评价「{option}」，票号{ticket}。该柜员今日不满意{unsatisfied_today}次，'
       '共评价{rated_today}次({ratio_today})。'
FROM org_node WHERE path = 'hq'
ON CONFLICT (node_id, kind) DO NOTHING;
INSERT INTO alert_recipient (node_id, name, phone, subtree)
SELECT n.id, v.name, v.phone, v.subtree
FROM (VALUES
    ('hq.r01.b0001', '网点主管 王敏', '+8613800138001', false),
    ('hq.r01', '区域值班经理 赵刚', '+8613800138002', true)
) AS v (node, name, phone, subtree)
JOIN org_node n ON n.path = v.node::ltree
ON CONFLICT (node_id, phone) DO NOTHING;
-- The live hall and praise (docs/alerts.md): more than 15 waiting or a wait
-- over 20 minutes in a queue, a window idle or paused for 5 minutes while
-- customers wait, a service past its standard time (20 minutes), a
-- teller's five stars; told to the branch supervisors.
INSERT INTO alert_rule (node_id, kind, template, params)
SELECT n.id, v.kind, v.template, v.params::jsonb
FROM (VALUES
    ('queue_waiting', '【排队预警】{branch}{queue}等候{waiting}人，最长已等{longest}分钟。{time}',
     '{"max_waiting": 15, "max_wait_minutes": 20}'),
    ('window_idle', '【窗口空闲】{branch}{window}号窗口{state}已{minutes}分钟，'
                    '{waiting}位客户在等候其业务。{teller} {time}', '{"minutes": 5}'),
    ('service_overrun', '【办理超时】{branch}{window}号窗口{ticket}号({service})已办理'
                        '{minutes}分钟，超过标准{standard}分钟。{teller} {time}', '{"minutes": 20}'),
    ('five_star', '【表扬】{branch}{subject}{period}满意率{share}(评价{rated}次)，'
                  '{first}评为五星。{time}', '{}')
) AS v (kind, template, params)
JOIN org_node n ON n.path = 'hq'
ON CONFLICT (node_id, kind) DO NOTHING;
UPDATE alert_recipient p
SET kinds = p.kinds || ARRAY['queue_waiting', 'window_idle', 'service_overrun', 'five_star']
FROM org_node n
WHERE n.id = p.node_id AND n.path = 'hq.r01.b0001' AND NOT 'five_star' = ANY (p.kinds);

-- Customer messages (docs/alerts.md): the demo branch answers SMS to 95588;
-- "A" (or "a", "Ａ") is a ticket for 个人存取款, "B" for 对公开户, "V" for 贵宾理财,
-- and "取号" too for 个人存取款. Every branch's queue letters and service codes
-- work as keywords without configuration; these rows name them for the reply
-- to an unknown keyword.
INSERT INTO sms_branch (branch_id, service_number)
SELECT id, '95588' FROM org_node WHERE path = 'hq.r01.b0001'
ON CONFLICT (branch_id) DO NOTHING;
INSERT INTO sms_keyword (node_id, keyword, service_id)
SELECT n.id, v.keyword, s.id
FROM (VALUES ('A', 'cash'), ('B', 'corp_account'), ('V', 'vip_wealth'), ('取号', 'cash'))
    AS v (keyword, code)
JOIN org_node n ON n.path = 'hq.r01.b0001'
JOIN org_node sn ON sn.path = 'hq'
JOIN service s ON s.node_id = sn.id AND s.code = v.code
ON CONFLICT (node_id, keyword) DO NOTHING;

COMMIT;

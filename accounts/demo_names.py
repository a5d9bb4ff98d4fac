"""Word lists for demo data: plausible Chinese and international company and person names."""

CITIES_CN = ["上海", "北京", "深圳", "广州", "杭州", "苏州", "南京", "成都", "武汉", "重庆", "天津", "西安", "青岛", "宁波", "厦门", "长沙", "合肥", "济南", "郑州", "无锡"]  # fmt: skip
BRANDS_CN = ["华信", "中科", "恒瑞", "海川", "瑞丰", "东方", "金桥", "长城", "宏图", "新元", "天成", "博远", "启明", "卓越", "联创", "腾飞", "鼎盛", "同方", "凯达", "和信", "国泰", "安盛", "永安", "嘉禾", "明德"]  # fmt: skip
TRADES_CN = {
    "manufacturing": ["精密制造", "机械", "汽车零部件", "电子", "新材料"],
    "retail": ["商贸", "零售", "消费品", "食品"],
    "finance": ["金融服务", "保险", "融资租赁"],
    "technology": ["信息技术", "软件", "智能科技", "数据科技"],
    "healthcare": ["医疗器械", "生物医药", "健康科技"],
    "energy": ["能源", "新能源", "电力"],
    "logistics": ["物流", "供应链", "航运"],
    "telecom": ["通信", "网络科技"],
    "construction": ["建设", "置业", "建材"],
    "public": ["城市服务", "公用事业"],
    "education": ["教育科技", "培训"],
    "other": ["实业", "集团", "控股"],
}
SUFFIX_CN = ["有限公司", "股份有限公司", "集团有限公司"]

CITIES_EN = ["Singapore", "Hong Kong", "Munich", "Lyon", "Osaka", "Chicago", "Rotterdam", "Sydney", "Toronto", "Milan", "Seoul", "Dubai"]  # fmt: skip
BRANDS_EN = ["Apex", "Northwind", "Bluewater", "Crestline", "Ironbridge", "Silverleaf", "Summit", "Orion", "Harbor", "Keystone", "Evergreen", "Pioneer", "Vertex", "Atlas", "Meridian"]  # fmt: skip
TRADES_EN = {
    "manufacturing": ["Precision Manufacturing", "Industrial", "Components", "Machinery"],
    "retail": ["Retail", "Consumer Goods", "Trading"],
    "finance": ["Financial", "Capital", "Insurance"],
    "technology": ["Technologies", "Software", "Systems", "Data"],
    "healthcare": ["Medical", "Life Sciences", "Health"],
    "energy": ["Energy", "Power", "Renewables"],
    "logistics": ["Logistics", "Shipping", "Freight"],
    "telecom": ["Telecom", "Networks"],
    "construction": ["Construction", "Building Materials"],
    "public": ["Public Services", "Utilities"],
    "education": ["Learning", "Education"],
    "other": ["Holdings", "Group", "Enterprises"],
}
SUFFIX_EN = ["Co., Ltd.", "Inc.", "GmbH", "Pte. Ltd.", "Group"]

SURNAMES_CN = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗"]  # fmt: skip
GIVEN_CN = ["伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "艳", "勇", "军", "杰", "涛", "明", "超", "秀英", "建华", "晓东", "志强", "丽华", "海燕", "文博", "子涵", "雨桐"]  # fmt: skip
FIRST_EN = ["James", "Mary", "Robert", "Linda", "Michael", "Sarah", "David", "Anna", "Thomas", "Laura", "Daniel", "Emma", "Lukas", "Sophie", "Kenji", "Mei"]  # fmt: skip
LAST_EN = ["Smith", "Müller", "Tanaka", "Brown", "Martin", "Rossi", "Kim", "Wilson", "Schmidt", "Dubois", "Lee", "Taylor", "Nakamura", "Clark"]  # fmt: skip

TITLES_CN = {
    "economic_buyer": ["总经理", "首席执行官", "财务总监", "副总裁"],
    "technical_buyer": ["首席技术官", "IT总监", "技术总监"],
    "user_buyer": ["运营经理", "生产经理", "业务经理"],
    "coach_champion": ["项目经理", "采购经理", "数字化负责人"],
    "other": ["采购专员", "工程师", "法务经理", "质量经理"],
}
TITLES_EN = {
    "economic_buyer": ["CEO", "CFO", "General Manager", "VP Operations"],
    "technical_buyer": ["CTO", "IT Director", "Head of Engineering"],
    "user_buyer": ["Operations Manager", "Plant Manager", "Business Manager"],
    "coach_champion": ["Project Manager", "Procurement Manager", "Head of Digital"],
    "other": ["Buyer", "Engineer", "Legal Counsel", "Quality Manager"],
}
DEPARTMENTS = ["Executive", "Finance", "IT", "Operations", "Procurement", "Engineering", "Legal"]

REGIONS_CN = ["East China", "North China", "South China", "Central China", "Southwest China", "Northwest China", "Northeast China"]  # fmt: skip
REGIONS_INTL = ["Hong Kong & Macau", "Asia Pacific", "Europe", "Americas"]

MEETING_TITLES = {
    "qbr": ["Q{q} business review", "季度业务回顾 Q{q}"],
    "ebr": ["Executive business review {y}", "年度高层业务回顾 {y}"],
    "executive": ["Executive sponsor meeting", "高层拜访"],
    "meeting": ["Project steering meeting", "需求沟通会", "Solution workshop"],
    "call": ["Status call", "电话沟通"],
    "visit": ["Site visit", "现场拜访"],
}

"""Write the two example XLSForms (retail audit, consumer survey) in the layout ODK documents.

Run ``python task_types/survey/examples/make_examples.py`` after editing the rows below; the .xlsx
files are committed next to this script and imported by the tests and the demo. Sheets: ``survey``
(type, name, labels per language, hint, required, relevant, constraint + message, calculation,
appearance, choice_filter, repeat_count), ``choices`` (list_name, name, labels, filter columns) and
``settings`` (form_title, form_id, default_language).
"""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
SURVEY_HEADER = ["type", "name", "label::Vietnamese (vi)", "label::English (en)", "hint::Vietnamese (vi)",
                 "hint::English (en)", "required", "relevant", "constraint",
                 "constraint_message::Vietnamese (vi)", "constraint_message::English (en)", "calculation",
                 "appearance", "choice_filter", "repeat_count"]
CHOICES_HEADER = ["list_name", "name", "label::Vietnamese (vi)", "label::English (en)", "region"]


def q(type_, name, vi="", en="", *, hint=("", ""), required="", relevant="", constraint="", msg=("", ""),
      calculation="", appearance="", choice_filter="", repeat_count=""):
    return [type_, name, vi, en, hint[0], hint[1], required, relevant, constraint, msg[0], msg[1], calculation,
            appearance, choice_filter, repeat_count]


RETAIL_AUDIT = [
    q("note", "intro", "Kiểm tra cửa hàng: chụp ảnh kệ trước khi trả lời.",
      "Store audit: photograph the shelf before answering."),
    q("select_one yes_no", "store_open", "Cửa hàng có mở cửa không?", "Is the store open?", required="yes"),
    q("select_one store_type", "store_type", "Loại cửa hàng", "Store type", required="yes",
      relevant="${store_open} = 'yes'"),
    q("begin_group", "shelf", "Kệ hàng", "Shelf", relevant="${store_open} = 'yes'"),
    q("integer", "facings_total", "Tổng số mặt hàng trên kệ nước giải khát", "Total facings on the drinks shelf",
      required="yes", constraint=". >= 0 and . <= 500",
      msg=("Số mặt hàng phải từ 0 đến 500.", "Facings must be between 0 and 500.")),
    q("integer", "facings_brand", "Số mặt hàng của nhãn hàng", "Facings of our brand", required="yes",
      constraint=". >= 0 and . <= ${facings_total}",
      msg=("Không thể lớn hơn tổng số mặt hàng.", "Cannot exceed the total facings.")),
    q("calculate", "shelf_share", calculation="if(${facings_total} > 0, round(${facings_brand} div ${facings_total}, 3), 0)"),
    q("select_multiple sku", "out_of_stock", "Sản phẩm nào hết hàng?", "Which products are out of stock?",
      constraint="not(selected(., 'none') and count-selected(.) > 1)",
      msg=("Không chọn 'Không có' cùng sản phẩm khác.", "Do not choose 'None' with other products.")),
    q("select_one yes_no", "planogram_ok", "Kệ có đúng sơ đồ trưng bày không?",
      "Does the shelf follow the planogram?", required="yes"),
    q("image", "shelf_photo", "Ảnh kệ hàng", "Shelf photo", appearance="new"),
    q("end_group", "shelf_end"),
    q("begin_repeat", "prices", "Giá bán", "Prices", relevant="${store_open} = 'yes'"),
    q("select_one sku", "price_sku", "Sản phẩm", "Product", required="yes", choice_filter="name != 'none'"),
    q("decimal", "price_vnd", "Giá (đồng)", "Price (VND)", required="yes", constraint=". > 0 and . < 1000000",
      msg=("Giá phải lớn hơn 0 và dưới 1.000.000 đồng.", "The price must be above 0 and below 1,000,000 VND.")),
    q("end_repeat", "prices_end"),
    q("select_one likert5", "staff_helpful", "Nhân viên có nhiệt tình không?", "Were the staff helpful?",
      appearance="likert", relevant="${store_open} = 'yes'"),
    q("geopoint", "location", "Vị trí cửa hàng", "Store location"),
    q("barcode", "receipt_code", "Mã vạch hóa đơn", "Receipt barcode"),
    q("text", "notes", "Ghi chú", "Notes"),
]
RETAIL_CHOICES = [
    ["yes_no", "yes", "Có", "Yes", ""], ["yes_no", "no", "Không", "No", ""],
    ["store_type", "grocery", "Tạp hóa", "Grocery", ""], ["store_type", "mini", "Cửa hàng tiện lợi", "Convenience store", ""],
    ["store_type", "super", "Siêu thị", "Supermarket", ""],
    ["sku", "tea_450", "Trà xanh 450ml", "Green tea 450ml", ""], ["sku", "cola_330", "Nước ngọt 330ml", "Cola 330ml", ""],
    ["sku", "water_500", "Nước suối 500ml", "Water 500ml", ""], ["sku", "none", "Không có", "None", ""],
    ["likert5", "1", "Rất không đồng ý", "Strongly disagree", ""], ["likert5", "2", "Không đồng ý", "Disagree", ""],
    ["likert5", "3", "Bình thường", "Neutral", ""], ["likert5", "4", "Đồng ý", "Agree", ""],
    ["likert5", "5", "Rất đồng ý", "Strongly agree", ""],
]

CONSUMER_SURVEY = [
    q("select_one yes_no", "consent", "Bạn đồng ý tham gia khảo sát?", "Do you agree to take part?", required="yes"),
    q("integer", "age", "Bạn bao nhiêu tuổi?", "How old are you?", required="yes", relevant="${consent} = 'yes'",
      constraint=". >= 15 and . <= 99", msg=("Tuổi phải từ 15 đến 99.", "Age must be between 15 and 99.")),
    q("select_one region", "region", "Bạn sống ở miền nào?", "Which region do you live in?", required="yes",
      relevant="${consent} = 'yes'"),
    q("select_one province", "province", "Tỉnh/thành phố", "Province", required="yes", relevant="${consent} = 'yes'",
      choice_filter="region = ${region}"),
    q("select_multiple drink", "drinks", "Bạn uống loại nào trong tuần qua?", "Which did you drink last week?",
      relevant="${consent} = 'yes'"),
    q("integer", "cups_per_week", "Bao nhiêu ly cà phê mỗi tuần?", "How many cups of coffee a week?",
      required="yes", relevant="selected(${drinks}, 'coffee')", constraint=". >= 1 and . <= 100",
      msg=("Từ 1 đến 100 ly.", "Between 1 and 100 cups.")),
    q("rank drink", "drink_rank", "Xếp hạng đồ uống theo mức yêu thích", "Rank the drinks by preference",
      relevant="${consent} = 'yes'"),
    q("begin_group", "satisfaction", "Mức độ hài lòng", "Satisfaction", relevant="${consent} = 'yes'",
      appearance="field-list"),
    q("select_one likert5", "sat_price", "Giá cả hợp lý", "The price is fair", appearance="likert"),
    q("select_one likert5", "sat_taste", "Hương vị ngon", "The taste is good", appearance="likert"),
    q("end_group", "satisfaction_end"),
    q("date", "last_purchase", "Lần mua gần nhất", "Last purchase", relevant="${consent} = 'yes'",
      constraint=". <= today()", msg=("Không chọn ngày trong tương lai.", "Not a future date.")),
    q("time", "usual_time", "Bạn thường uống lúc mấy giờ?", "What time do you usually drink it?",
      relevant="${consent} = 'yes'"),
    q("audio", "voice_comment", "Ghi âm nhận xét (không bắt buộc)", "Record a comment (optional)",
      relevant="${consent} = 'yes'"),
    q("text", "comment", "Nhận xét khác", "Other comments", relevant="${consent} = 'yes'"),
]
CONSUMER_CHOICES = [
    ["yes_no", "yes", "Có", "Yes", ""], ["yes_no", "no", "Không", "No", ""],
    ["region", "north", "Miền Bắc", "North", ""], ["region", "central", "Miền Trung", "Central", ""],
    ["region", "south", "Miền Nam", "South", ""],
    ["province", "hanoi", "Hà Nội", "Hanoi", "north"], ["province", "haiphong", "Hải Phòng", "Hai Phong", "north"],
    ["province", "hue", "Huế", "Hue", "central"], ["province", "danang", "Đà Nẵng", "Da Nang", "central"],
    ["province", "hcmc", "TP. Hồ Chí Minh", "Ho Chi Minh City", "south"],
    ["province", "cantho", "Cần Thơ", "Can Tho", "south"],
    ["drink", "coffee", "Cà phê", "Coffee", ""], ["drink", "tea", "Trà", "Tea", ""],
    ["drink", "soda", "Nước ngọt", "Soft drinks", ""],
] + [row for row in RETAIL_CHOICES if row[0] == "likert5"]


def write(path: Path, survey: list[list], choices: list[list], title: str, form_id: str) -> None:
    import openpyxl  # pyxform's own dependency; only this script writes workbooks

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "survey"
    sheet.append(SURVEY_HEADER)
    for row in survey:
        sheet.append(row)
    sheet = book.create_sheet("choices")
    sheet.append(CHOICES_HEADER)
    for row in choices:
        sheet.append(row)
    sheet = book.create_sheet("settings")
    sheet.append(["form_title", "form_id", "default_language", "version"])
    sheet.append([title, form_id, "Vietnamese (vi)", "2026120701"])
    book.save(path)


if __name__ == "__main__":
    write(HERE / "retail_audit.xlsx", RETAIL_AUDIT, RETAIL_CHOICES, "Kiểm tra cửa hàng bán lẻ", "retail_audit")
    write(HERE / "consumer_survey.xlsx", CONSUMER_SURVEY, CONSUMER_CHOICES, "Khảo sát người tiêu dùng",
          "consumer_survey")

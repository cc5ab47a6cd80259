#include "drill/drill_report.h"

#include <algorithm>
#include <cstdio>

#include "common/clock.h"
#include "common/markup.h"

namespace pgkeep {

namespace {

constexpr int kReportVersion = 1;

const char* ResultName(DrillCheck::Result r) {
  switch (r) {
    case DrillCheck::Result::kPass:
      return "pass";
    case DrillCheck::Result::kFail:
      return "fail";
    case DrillCheck::Result::kSkip:
      return "skip";
  }
  return "fail";
}

std::optional<DrillCheck::Result> ResultFromName(const std::string& s) {
  if (s == "pass") return DrillCheck::Result::kPass;
  if (s == "fail") return DrillCheck::Result::kFail;
  if (s == "skip") return DrillCheck::Result::kSkip;
  return std::nullopt;
}

nlohmann::json TargetJson(const DrillTarget& t) {
  nlohmann::json j = {
      {"seconds", t.seconds}, {"judged", t.judged}, {"met", t.met}, {"basis", t.basis}};
  j["target_seconds"] = t.target_seconds ? nlohmann::json(*t.target_seconds) : nlohmann::json();
  return j;
}

DrillTarget TargetFromJson(const nlohmann::json& j) {
  DrillTarget t;
  t.seconds = j.at("seconds").get<double>();
  t.met = j.at("met").get<bool>();
  t.judged = j.value("judged", t.met);
  t.basis = j.value("basis", "");
  if (j.contains("target_seconds") && j["target_seconds"].is_number_integer())
    t.target_seconds = j["target_seconds"].get<int64_t>();
  return t;
}

std::string TargetText(const DrillTarget& t) {
  std::string out = FormatDrillSeconds(t.seconds);
  if (t.judged)
    out += std::string(t.met ? " (target " : " (MISSED target ") +
           FormatDrillSeconds(static_cast<double>(*t.target_seconds)) + ")";
  else if (t.target_seconds)
    out += " (not judged)";
  else
    out += " (no target)";
  return out;
}

std::string Html(const std::string& text) { return EscapeMarkup(text); }

}  // namespace

nlohmann::json DrillToJson(const DrillResult& r) {
  nlohmann::json j = {{"version", kReportVersion},
                      {"id", r.id},
                      {"database", r.database},
                      {"method", r.method},
                      {"backup", r.backup},
                      {"host", r.host},
                      {"started", FormatIsoTime(r.started)},
                      {"started_unix", r.started},
                      {"finished", FormatIsoTime(r.finished)},
                      {"finished_unix", r.finished},
                      {"passed", r.passed},
                      {"interrupted", r.interrupted},
                      {"failures", r.failures},
                      {"rto", TargetJson(r.rto)},
                      {"rpo", TargetJson(r.rpo)},
                      {"recovery_target", r.recovery_target},
                      {"reached", r.reached},
                      {"notes", r.notes},
                      {"cleanup_problems", r.cleanup_problems}};
  nlohmann::json phases = nlohmann::json::array();
  for (const auto& p : r.phases)
    phases.push_back({{"name", p.name}, {"seconds", p.seconds}, {"in_rto", p.in_rto}});
  j["phases"] = phases;
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : r.checks)
    checks.push_back({{"name", c.name},
                      {"user", c.user},
                      {"result", ResultName(c.result)},
                      {"saw", c.saw},
                      {"seconds", c.seconds}});
  j["checks"] = checks;
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& t : r.tables) {
    nlohmann::json tj = {{"table", t.table}, {"rows", t.rows}, {"bytes", t.bytes}};
    tj["expected"] = t.expected ? nlohmann::json(*t.expected) : nlohmann::json();
    tables.push_back(tj);
  }
  j["tables"] = tables;
  return j;
}

Result<DrillResult> DrillFromJson(const nlohmann::json& j) {
  DrillResult r;
  try {
    if (j.at("version").get<int>() != kReportVersion)
      return Status::Error(ErrorCode::kCorrupt, "drill report version " +
                                                    std::to_string(j.at("version").get<int>()) +
                                                    " is not supported");
    r.id = j.at("id").get<std::string>();
    r.database = j.at("database").get<std::string>();
    r.method = j.at("method").get<std::string>();
    r.backup = j.value("backup", "");
    r.host = j.value("host", "");
    r.started = j.at("started_unix").get<int64_t>();
    r.finished = j.at("finished_unix").get<int64_t>();
    r.passed = j.at("passed").get<bool>();
    r.interrupted = j.value("interrupted", false);
    r.failures = j.value("failures", std::vector<std::string>{});
    r.rto = TargetFromJson(j.at("rto"));
    r.rpo = TargetFromJson(j.at("rpo"));
    r.recovery_target = j.value("recovery_target", "");
    r.reached = j.value("reached", "");
    r.notes = j.value("notes", std::vector<std::string>{});
    r.cleanup_problems = j.value("cleanup_problems", std::vector<std::string>{});
    for (const auto& p : j.at("phases"))
      r.phases.push_back({p.at("name").get<std::string>(), p.at("seconds").get<double>(),
                          p.value("in_rto", false)});
    for (const auto& c : j.at("checks")) {
      DrillCheck check;
      check.name = c.at("name").get<std::string>();
      check.user = c.value("user", false);
      auto result = ResultFromName(c.at("result").get<std::string>());
      if (!result) return Status::Error(ErrorCode::kCorrupt, "drill report: unknown check result");
      check.result = *result;
      check.saw = c.value("saw", "");
      check.seconds = c.value("seconds", 0.0);
      r.checks.push_back(std::move(check));
    }
    for (const auto& t : j.at("tables")) {
      DrillTable table;
      table.table = t.at("table").get<std::string>();
      table.rows = t.at("rows").get<int64_t>();
      table.bytes = t.value("bytes", int64_t{0});
      if (t.contains("expected") && t["expected"].is_number_integer())
        table.expected = t["expected"].get<int64_t>();
      r.tables.push_back(std::move(table));
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Error(ErrorCode::kCorrupt, std::string("drill report: ") + e.what());
  }
  return r;
}

std::string RenderDrillText(const DrillResult& r) {
  std::string out = "drill " + r.id + " of database \"" + r.database + "\" (" + r.method +
                    "): " + (r.passed ? "PASSED" : "FAILED") + "\n";
  if (!r.backup.empty()) out += "  backup:   " + r.backup + "\n";
  if (!r.recovery_target.empty()) out += "  target:   " + r.recovery_target + "\n";
  if (!r.reached.empty()) out += "  reached:  " + r.reached + "\n";
  out += "  RTO:      " + TargetText(r.rto) + "\n";
  for (const auto& p : r.phases)
    out += "    " + p.name + std::string(14 - std::min<size_t>(13, p.name.size()), ' ') +
           FormatDrillSeconds(p.seconds) + (p.in_rto ? "" : "  (not in RTO)") + "\n";
  out +=
      "  RPO:      " + TargetText(r.rpo) + (r.rpo.basis.empty() ? "" : ": " + r.rpo.basis) + "\n";
  for (const auto& c : r.checks)
    out += std::string("  ") +
           (c.result == DrillCheck::Result::kPass   ? "pass"
            : c.result == DrillCheck::Result::kFail ? "FAIL"
                                                    : "skip") +
           "  " + (c.user ? "check \"" + c.name + "\"" : c.name) + ": " + c.saw + "\n";
  size_t listed = 0;
  for (const auto& t : r.tables) {
    if (listed++ == 0) out += "  tables:\n";
    if (listed > 20) {
      out += "    (" + std::to_string(r.tables.size() - 20) + " more in --output json)\n";
      break;
    }
    out += "    " + t.table + ": " +
           (t.rows >= 0 ? std::to_string(t.rows) + " rows" : "unreadable") + ", " +
           std::to_string(t.bytes) + " bytes\n";
  }
  for (const auto& n : r.notes) out += "  note: " + n + "\n";
  for (const auto& f : r.failures) out += "  failure: " + f + "\n";
  return out;
}

std::string RenderDrillHtml(const DrillResult& r) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>pgkeep drill " +
      Html(r.id) + " of " + Html(r.database) +
      "</title>\n<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
      "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:"
      "4px 8px;text-align:left}th{background:#f3f3f3}.pass{color:#176f2c}.fail{color:#b00020;"
      "font-weight:bold}.skip{color:#777}h1 span{font-size:70%}</style></head><body>\n";
  h += "<h1>Drill of database &quot;" + Html(r.database) + "&quot; <span class=\"" +
       (r.passed ? "pass\">PASSED" : "fail\">FAILED") + "</span></h1>\n";
  h += "<table><tr><th>drill</th><td>" + Html(r.id) + "</td></tr><tr><th>method</th><td>" +
       Html(r.method) + "</td></tr><tr><th>backup</th><td>" + Html(r.backup) +
       "</td></tr><tr><th>host</th><td>" + Html(r.host) + "</td></tr><tr><th>started</th><td>" +
       Html(FormatIsoTime(r.started)) + "</td></tr><tr><th>finished</th><td>" +
       Html(FormatIsoTime(r.finished)) + "</td></tr><tr><th>recovery target</th><td>" +
       Html(r.recovery_target) + "</td></tr><tr><th>reached</th><td>" + Html(r.reached) +
       "</td></tr><tr><th>RTO</th><td class=\"" + (r.rto.judged && !r.rto.met ? "fail" : "pass") +
       "\">" + Html(TargetText(r.rto)) + "</td></tr><tr><th>RPO</th><td class=\"" +
       (r.rpo.judged && !r.rpo.met ? "fail" : "pass") + "\">" + Html(TargetText(r.rpo)) + "<br>" +
       Html(r.rpo.basis) + "</td></tr></table>\n";
  h += "<h2>Phases</h2><table><tr><th>phase</th><th>seconds</th><th>in RTO</th></tr>\n";
  for (const auto& p : r.phases)
    h += "<tr><td>" + Html(p.name) + "</td><td>" + Html(FormatDrillSeconds(p.seconds)) +
         "</td><td>" + (p.in_rto ? "yes" : "no") + "</td></tr>\n";
  h += "</table><h2>Checks</h2><table><tr><th>check</th><th>result</th><th>saw</th></tr>\n";
  for (const auto& c : r.checks)
    h += "<tr><td>" + Html(c.user ? "check \"" + c.name + "\"" : c.name) + "</td><td class=\"" +
         ResultName(c.result) + "\">" + ResultName(c.result) + "</td><td>" + Html(c.saw) +
         "</td></tr>\n";
  h += "</table><h2>Tables</h2><table><tr><th>table</th><th>rows</th><th>expected</th><th>"
       "bytes</th></tr>\n";
  for (const auto& t : r.tables)
    h += "<tr><td>" + Html(t.table) + "</td><td>" +
         (t.rows >= 0 ? std::to_string(t.rows) : std::string("unreadable")) + "</td><td>" +
         (t.expected ? std::to_string(*t.expected) : std::string()) + "</td><td>" +
         std::to_string(t.bytes) + "</td></tr>\n";
  h += "</table>\n";
  if (!r.failures.empty()) {
    h += "<h2>Failures</h2><ul>\n";
    for (const auto& f : r.failures) h += "<li class=\"fail\">" + Html(f) + "</li>\n";
    h += "</ul>\n";
  }
  if (!r.notes.empty()) {
    h += "<h2>Notes</h2><ul>\n";
    for (const auto& n : r.notes) h += "<li>" + Html(n) + "</li>\n";
    h += "</ul>\n";
  }
  h += "</body></html>\n";
  return h;
}

Status StoreDrillReport(const Repository& repo, const DrillResult& r) {
  auto dump = [](const DrillResult& d) {
    return DrillToJson(d).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  std::string text = dump(r);
  if (text.size() > kMaxDrillReportSize) {
    // Tens of thousands of tables (a schema per tenant): the stored report
    // lists the ones that failed and then the largest, as many as fit. All
    // of them were read and counted; the checks say so.
    DrillResult kept = r;
    auto failed = [](const DrillTable& t) {
      return t.rows < 0 || (t.expected && *t.expected != t.rows);
    };
    std::stable_sort(kept.tables.begin(), kept.tables.end(),
                     [&](const DrillTable& a, const DrillTable& b) {
                       if (failed(a) != failed(b)) return failed(a);
                       return a.bytes > b.bytes;
                     });
    const size_t all = kept.tables.size();
    while (text.size() > kMaxDrillReportSize && !kept.tables.empty()) {
      kept.tables.resize(kept.tables.size() / 2);
      kept.notes = r.notes;
      kept.notes.push_back(std::to_string(kept.tables.size()) + " of the " + std::to_string(all) +
                           " tables read are listed here (those that failed, then the largest)");
      text = dump(kept);
    }
  }
  return repo.WriteDrillReport(r.database, r.id, AsBytes(text));
}

Result<DrillResult> ReadDrillReport(const Repository& repo, const std::string& db,
                                    const std::string& id) {
  auto bytes = repo.ReadDrillReport(db, id);
  if (!bytes.ok()) return bytes.status();
  auto j = nlohmann::json::parse(AsString(*bytes), nullptr, false);
  if (j.is_discarded())
    return Status::Error(ErrorCode::kCorrupt, "drill report " + db + "/" + id + " is not JSON");
  return DrillFromJson(j);
}

Result<std::vector<DrillResult>> DrillHistory(const Repository& repo, const std::string& db,
                                              size_t limit) {
  auto listed = repo.ListDrillReports(db);
  if (!listed.ok()) return listed.status();
  std::vector<DrillResult> out;
  for (auto it = listed->rbegin(); it != listed->rend(); ++it) {
    if (limit > 0 && out.size() >= limit) break;
    auto r = ReadDrillReport(repo, it->first, it->second);
    if (!r.ok()) {
      repo.Warn("drill report " + it->first + "/" + it->second +
                " skipped: " + r.status().message());
      continue;
    }
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace pgkeep

#include "common/subprocess.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "common/bytes.h"
#include "common/env.h"

namespace pgkeep {
namespace {

// Standard error as the tools print it (PostgreSQL 15), and the line a user
// must see: the first error with its context, not what followed from it.
TEST(FirstErrorLinesTest, FindsTheCauseInRealToolOutput) {
  struct Case {
    const char* name;
    std::string stderr_text;
    std::string want;
  };
  const Case cases[] = {
      {"parallel pg_restore: the worker's error, not 'a worker process died'",
       "pg_restore: while PROCESSING TOC:\n"
       "pg_restore: from TOC entry 3345; 0 16403 TABLE DATA orders app\n"
       "pg_restore: error: could not execute query: ERROR:  could not extend file "
       "\"base/16384/16403\": "
       "No space left on device\n"
       "HINT:  Check free disk space.\n"
       "Command was: COPY public.orders (id, total) FROM stdin;\n"
       "pg_restore: error: a worker process died unexpectedly\n",
       "pg_restore: error: could not execute query: ERROR:  could not extend file "
       "\"base/16384/16403\": "
       "No space left on device; HINT:  Check free disk space.; Command was: COPY public.orders "
       "(id, total) FROM "
       "stdin;"},
      {"missing role",
       "pg_restore: while PROCESSING TOC:\n"
       "pg_restore: from TOC entry 215; 1259 16385 TABLE t ghost\n"
       "pg_restore: error: could not execute query: ERROR:  role \"ghost\" does not exist\n"
       "Command was: ALTER TABLE public.t OWNER TO ghost;\n"
       "\n"
       "\n",
       "pg_restore: error: could not execute query: ERROR:  role \"ghost\" does not exist; Command "
       "was: ALTER "
       "TABLE public.t OWNER TO ghost;"},
      {"psql with ON_ERROR_STOP",
       "psql:/tmp/dump.sql:42: ERROR:  relation \"missing\" does not exist\n"
       "LINE 1: INSERT INTO missing VALUES (1);\n"
       "                    ^\n",
       "psql:/tmp/dump.sql:42: ERROR:  relation \"missing\" does not exist; LINE 1: INSERT INTO "
       "missing VALUES (1);"},
      {"pg_dump permission",
       "pg_dump: error: query failed: ERROR:  permission denied for table secrets\n"
       "pg_dump: detail: Query was: LOCK TABLE public.secrets IN ACCESS SHARE MODE\n",
       "pg_dump: error: query failed: ERROR:  permission denied for table secrets; pg_dump: "
       "detail: Query was: "
       "LOCK TABLE public.secrets IN ACCESS SHARE MODE"},
      {"server log for pg_ctl",
       "2026-11-23 10:00:00.000 UTC [123] LOG:  starting PostgreSQL 15.5\n"
       "2026-11-23 10:00:00.001 UTC [123] FATAL:  could not load server certificate file "
       "\"server.crt\": No such "
       "file or directory\n"
       "2026-11-23 10:00:00.002 UTC [123] LOG:  database system is shut down\n",
       "2026-11-23 10:00:00.001 UTC [123] FATAL:  could not load server certificate file "
       "\"server.crt\": No such "
       "file or directory"},
      {"server log with a statement",
       "2026-11-23 10:00:00 UTC [7] ERROR:  duplicate key value violates unique constraint "
       "\"t_pkey\"\n"
       "2026-11-23 10:00:00 UTC [7] DETAIL:  Key (id)=(1) already exists.\n"
       "2026-11-23 10:00:00 UTC [7] STATEMENT:  INSERT INTO t VALUES (1)\n"
       "2026-11-23 10:00:01 UTC [7] LOG:  disconnection\n",
       "2026-11-23 10:00:00 UTC [7] ERROR:  duplicate key value violates unique constraint "
       "\"t_pkey\"; "
       "2026-11-23 10:00:00 UTC [7] DETAIL:  Key (id)=(1) already exists.; 2026-11-23 10:00:00 UTC "
       "[7] "
       "STATEMENT:  INSERT INTO t VALUES (1)"},
      {"nothing that looks like an error",
       "pg_ctl: could not start server\nExamine the log output.\n", ""},
      {"empty", "", ""},
  };
  for (const auto& c : cases) {
    std::string got = FirstErrorLines(c.stderr_text);
    EXPECT_EQ(got, c.want) << c.name;
    EXPECT_EQ(got.find('\n'), std::string::npos) << c.name;
  }
}

TEST(FirstErrorLinesTest, StaysBoundedAndValidUtf8) {
  std::string line = "pg_restore: error: could not execute query: ERROR:  ";
  for (int i = 0; i < 2000; ++i) line += "\xc3\xa9";  // é, two bytes each
  std::string got = FirstErrorLines(line + "\nCommand was: x\n", 100);
  EXPECT_LE(got.size(), 103u);
  EXPECT_TRUE(IsValidUtf8(got)) << got;
  EXPECT_EQ(got.substr(got.size() - 3), "...");
}

TEST(SubprocessTest, ErrorSummaryFindsTheFirstErrorEvenAfterMuchOutput) {
  // The first error, then more than the kept tail of further output.
  auto p = PosixEnv().StartProcess(
      {{"/bin/sh", "-c",
        "echo 'pg_restore: error: first cause' >&2; "
        "i=0; while [ $i -lt 3000 ]; do echo 'pg_restore: error: later noise line' >&2; "
        "i=$((i+1)); done; exit 1"},
       {},
       false,
       ""});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ((*p)->Wait(), 1);
  EXPECT_EQ((*p)->ErrorSummary(), "pg_restore: error: first cause");
}

TEST(SubprocessTest, ChildDoesNotInheritDroppedSecrets) {
  ::setenv("PGKEEP_TEST_REPO_SECRET", "hunter2", 1);
  ::setenv("PGPASSWORD", "libpq-needs-this", 1);
  SubprocessOptions options{{"/usr/bin/env"}, {}, true, ""};
  options.drop_env = {"PGKEEP_TEST_REPO_SECRET", "PGKEEP_REPO_PASSWORD"};
  auto p = PosixEnv().StartProcess(options);
  ASSERT_TRUE(p.ok()) << p.status().message();
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = (*p)->Stdout().Read(reinterpret_cast<uint8_t*>(buf), sizeof buf);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    out.append(buf, *n);
  }
  EXPECT_EQ((*p)->Wait(), 0);
  EXPECT_EQ(out.find("hunter2"), std::string::npos) << out;
  EXPECT_NE(out.find("PGPASSWORD=libpq-needs-this\n"), std::string::npos);
  ::unsetenv("PGKEEP_TEST_REPO_SECRET");
  ::unsetenv("PGPASSWORD");
}

TEST(IsValidUtf8Test, AcceptsUtf8AndRefusesTheRest) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("before deploy"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xbe"));
  EXPECT_FALSE(IsValidUtf8("\xff\xfe"));
  EXPECT_FALSE(IsValidUtf8("caf\xe9"));           // Latin-1
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
}

}  // namespace
}  // namespace pgkeep

// End to end over HTTPS, whatever the suite's mode: `gwang up --tls` makes its certificate once and
// keeps it; the command line and the jobs verify the controller with it; another certificate, or
// plain HTTP, gets no answer but a clear error.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "up_fixture.h"

namespace {

class UpOverTls : public Up {
 protected:
  UpOverTls() { tls_ = true; }
  std::string url() const { return slurp(dir_ / "data" / "url").substr(0, slurp(dir_ / "data" / "url").find('\n')); }
  static unsigned mode(const fs::path& p) {
    struct stat st {};
    ::stat(p.c_str(), &st);
    return st.st_mode & 0777;
  }
};

TEST_F(UpOverTls, TheCommandLineAndJobsVerifyTheControllerWithItsOwnCertificate) {
  ASSERT_EQ(url().rfind("https://127.0.0.1:", 0), 0u) << url();
  EXPECT_EQ(mode(dir_ / "data" / "ca.pem"), 0644u) << "jobs, run as their owners, read it";
  EXPECT_EQ(mode(dir_ / "data" / "tls-key.pem"), 0600u);
  // A job reaches the controller as the command line does, given GWANG_CA by its node.
  const std::string id = submit(std::string("-- sh -c 'echo \"$GWANG_CA\"; ") + GWANG_BINARY + " show $GWANG_JOB_ID'");
  EXPECT_NE(wait_ended(id).find("State=COMPLETED ExitCode=0"), std::string::npos) << gwang("logs " + id).output;
  const std::string out = gwang("logs " + id).output;
  EXPECT_EQ(out.rfind((dir_ / "data" / "ca.pem").string() + "\n", 0), 0u) << out;
  EXPECT_NE(out.find("JobId=" + id), std::string::npos) << out;
  // A restart serves the same certificate: whoever was given it goes on trusting the controller.
  const std::string certificate = slurp(dir_ / "data" / "ca.pem");
  stop();
  start();
  EXPECT_EQ(slurp(dir_ / "data" / "ca.pem"), certificate);
  EXPECT_EQ(gwang("queue").status, 0);
}

TEST_F(UpOverTls, AnotherCertificateOrPlainHttpGetsAClearErrorAndNoAnswer) {
  ASSERT_EQ(gwang::testing::make_certificate(dir_ / "other", {"127.0.0.1", "localhost"}), "");
  const Outcome wrong = gwang_as("GWANG_CA=" + (dir_ / "other" / "cert.pem").string() + " " + GWANG_BINARY, "queue");
  EXPECT_NE(wrong.status, 0);
  EXPECT_NE(
      wrong.output.find("cannot reach the controller at " + url() + ": TLS with 127.0.0.1: self-signed certificate"),
      std::string::npos)
      << wrong.output;
  const Outcome missing = gwang_as("GWANG_CA=" + (dir_ / "none.pem").string() + " " + GWANG_BINARY, "queue");
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.output.find("none.pem: no such file"), std::string::npos) << missing.output;
  std::string plain = url();
  plain.replace(0, 8, "http://");
  const Outcome unencrypted = gwang_as("GWANG_URL=" + plain + " " + GWANG_BINARY, "submit -- true");
  EXPECT_NE(unencrypted.status, 0);
  EXPECT_NE(unencrypted.output.find("this controller speaks HTTPS only"), std::string::npos) << unencrypted.output;
  // Nothing was submitted by either.
  EXPECT_EQ(gwang("queue --all --json").output.find("\"id\""), std::string::npos) << gwang("queue --all --json").output;
}

}  // namespace

// Controllers' URLs as the command line, the agents and the jobs are given them: http:// or
// https://, a host name, an address or a bracketed IPv6 address, the scheme's port by default.
#include "api/urls.h"

#include <gtest/gtest.h>

namespace gwang::api {
namespace {

TEST(ControllerUrls, HostAndPortOfEitherScheme) {
  using HostPort = std::pair<std::string, std::string>;
  EXPECT_EQ(*host_and_port("http://ctl1:8686"), (HostPort{"ctl1", "8686"}));
  EXPECT_EQ(*host_and_port("https://ctl1:8686/api"), (HostPort{"ctl1", "8686"}));
  EXPECT_EQ(*host_and_port("http://10.0.0.1"), (HostPort{"10.0.0.1", "80"}));
  EXPECT_EQ(*host_and_port("https://10.0.0.1"), (HostPort{"10.0.0.1", "443"}));
  EXPECT_EQ(*host_and_port("https://[fd00::2]:9000"), (HostPort{"fd00::2", "9000"}));
  EXPECT_TRUE(uses_tls("https://ctl1:8686"));
  EXPECT_FALSE(uses_tls("http://ctl1:8686"));
  EXPECT_EQ(authority_of("https://ctl1:8686/api/v1"), "ctl1:8686");
  EXPECT_EQ(authority_of("http://[fd00::2]:9000"), "[fd00::2]:9000");
}

TEST(ControllerUrls, WhatIsNotOneSaysWhatIsExpected) {
  EXPECT_EQ(host_and_port("ctl1:8686").error().message,
            "controller URL 'ctl1:8686': expected http://HOST:PORT or https://HOST:PORT");
  EXPECT_EQ(host_and_port("https://ctl1:port").error().message,
            "controller URL 'https://ctl1:port': expected https://HOST:PORT");
  EXPECT_EQ(host_and_port("http://[fd00::2").error().message, "controller URL 'http://[fd00::2': unclosed '['");
  EXPECT_FALSE(host_and_port("https://"));
  EXPECT_EQ(controller_urls(" https://a:1, http://b:2 ,"), (std::vector<std::string>{"https://a:1", "http://b:2"}));
}

}  // namespace
}  // namespace gwang::api

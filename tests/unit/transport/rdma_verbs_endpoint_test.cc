// SPDX-License-Identifier: LGPL-2.1-or-later
// The rdma-core endpoint on a machine without an RDMA device (the unit tier's machines have none):
// every entry point says so clearly, and the errno conventions of librdmacm and libibverbs come
// out as the same Status. With a device present the no-device tests skip and say why; the vm tier
// exercises real verbs over soft-RoCE.
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "transport/rdma/verbs_endpoint.h"
#include "transport/rdma/verbs_errors.h"

namespace smb3::transport::rdma {
namespace {

// Independent of rdma-core: the kernel lists its RDMA devices here.
bool KernelHasRdmaDevice() {
  std::error_code ec;
  std::filesystem::directory_iterator it("/sys/class/infiniband", ec);
  return !ec && it != std::filesystem::directory_iterator();
}

#define SKIP_IF_DEVICE_PRESENT()                                                 \
  do {                                                                           \
    if (KernelHasRdmaDevice()) GTEST_SKIP() << "an RDMA device is present here"; \
  } while (0)

void ExpectNoDevice(const Status& s) {
  EXPECT_TRUE(s.Is(Code::kNotSupported)) << s.ToString();
  std::string text = s.ToString();
  EXPECT_NE(text.find("no RDMA device found"), std::string::npos) << text;
  EXPECT_NE(text.find("rdma_rxe"), std::string::npos) << text;
}

TEST(RdmaVerbsNoDevice, CheckDevicePresentNamesTheCause) {
  SKIP_IF_DEVICE_PRESENT();
  Status s = CheckDevicePresent();
  ExpectNoDevice(s);
  EXPECT_STREQ(s.where(), kNoRdmaDevice);
}

TEST(RdmaVerbsNoDevice, ListDevicesFailsTheSameWay) {
  SKIP_IF_DEVICE_PRESENT();
  auto devices = ListDevices();
  ASSERT_FALSE(devices.ok());
  ExpectNoDevice(devices.status());
}

TEST(RdmaVerbsNoDevice, ResolveFailsBeforeTouchingTheNetwork) {
  SKIP_IF_DEVICE_PRESENT();
  ResolveOptions options;
  options.timeout = std::chrono::milliseconds(200);
  for (const char* address : {"127.0.0.1", "10.99.0.1", "::1"}) {
    auto ep = Resolve(address, 445, options);
    ASSERT_FALSE(ep.ok()) << address;
    ExpectNoDevice(ep.status());
  }
}

TEST(RdmaVerbsErrors, ErrnoBecomesOneStatus) {
  ExpectNoDevice(ErrnoStatus(ENODEV, "x"));
  EXPECT_TRUE(ErrnoStatus(ETIMEDOUT, "x").Is(Code::kTimeout));
  for (int err : {ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, ECONNRESET}) {
    Status s = ErrnoStatus(err, "x");
    EXPECT_TRUE(s.Is(Code::kUnreachable)) << err;
    EXPECT_EQ(s.detail(), static_cast<uint32_t>(err));
  }
  EXPECT_TRUE(ErrnoStatus(ENOMEM, "x").Is(Code::kResourceExhausted));
  Status other = ErrnoStatus(EINVAL, "rdma: ibv_reg_mr");
  EXPECT_TRUE(other.Is(Code::kSystem));
  EXPECT_EQ(other.detail(), static_cast<uint32_t>(EINVAL));
  EXPECT_STREQ(other.where(), "rdma: ibv_reg_mr");
  EXPECT_TRUE(ErrnoStatus(0, "x").Is(Code::kSystem));  // a failure never reads as success
}

TEST(RdmaVerbsErrors, LibrdmacmAndLibibverbsConventionsAgree) {
  // librdmacm: -1 and errno.
  EXPECT_TRUE(CmStatus(0, "x").ok());
  errno = ECONNREFUSED;
  Status cm = CmStatus(-1, "rdma: rdma_connect");
  // libibverbs: the errno as the return value.
  Status verbs = VerbsStatus(ECONNREFUSED, "rdma: ibv_post_send");
  EXPECT_TRUE(cm.Is(Code::kUnreachable));
  EXPECT_EQ(cm.code(), verbs.code());
  EXPECT_EQ(cm.detail(), verbs.detail());
  EXPECT_TRUE(VerbsStatus(0, "x").ok());
  // The older verbs calls: -1 and errno.
  errno = ENOMEM;
  EXPECT_TRUE(VerbsStatus(-1, "x").Is(Code::kResourceExhausted));
}

}  // namespace
}  // namespace smb3::transport::rdma

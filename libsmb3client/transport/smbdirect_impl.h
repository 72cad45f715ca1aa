// SPDX-License-Identifier: LGPL-2.1-or-later
// The SMB Direct transport's class, shared by its control path (smbdirect.cc: connect, negotiate,
// event loop, close) and its data path (smbdirect_data_path.cc: receive and send buffers, work
// completions, draining the engine). Internal to transport/.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "smbd/connection.h"
#include "transport/rdma/data_channel.h"
#include "transport/rdma/device.h"
#include "transport/smbdirect.h"

namespace smb3::transport {

// Thread affinity: Start() runs Loop() on thread_. Everything below endpoint_mu_ is guarded by it
// (the engine included); handler_ is called only from thread_, never with endpoint_mu_ held.
class SmbDirectTransport final : public Transport {
 public:
  // wr_id tags of this transport's own work requests (the index of a buffer in the low bits).
  // They never carry rdma::Registrar::kWorkRequestTag's bits (checked in smbdirect.cc).
  static constexpr uint64_t kTagMask = 0xffff000000000000ull;
  static constexpr uint64_t kRecvTag = 0x5243000000000000ull;  // "RC"
  static constexpr uint64_t kSendTag = 0x5344000000000000ull;  // "SD"

  SmbDirectTransport(std::unique_ptr<rdma::Endpoint> endpoint, std::string peer,
                     const SmbDirectOptions& options, std::shared_ptr<BufferPool> pool,
                     smbd::Connection engine);
  ~SmbDirectTransport() override;
  SmbDirectTransport(const SmbDirectTransport&) = delete;
  SmbDirectTransport& operator=(const SmbDirectTransport&) = delete;

  // Registers the buffers and the wakeup descriptor; before Negotiate.
  Status Setup();
  // Posts the first receive, connects and completes the MS-SMBD negotiation on the calling thread
  // (the loop is not running yet). Errors as ConnectSmbDirect's.
  Status Negotiate();

  Status Start(TransportHandler* handler) override;
  Status Send(std::span<const ByteView> parts) override;
  void Close() override;
  TransportKind kind() const override { return TransportKind::kSmbDirect; }
  size_t max_message_size() const override { return max_message_size_; }
  std::string peer() const override { return peer_; }
  std::shared_ptr<RdmaChannel> rdma_channel() override;

  SmbDirectCounters Snapshot();

 private:
  // --- Control path (smbdirect.cc) ---
  void Loop();
  // Waits until a descriptor is readable or `timeout` passed. No lock held.
  void Wait(std::chrono::milliseconds timeout);
  void DrainWakeups();
  void CreateDataChannel();

  // --- Data path (smbdirect_data_path.cc); endpoint_mu_ held ---
  // Process() and every event; then the engine's timers; then reposts and sends.
  void Drive(smbd::Timestamp now);
  void OnEvent(const rdma::Event& e, smbd::Timestamp now);
  void PostReceives();
  void PostSends(smbd::Timestamp now);
  // A failed work request or device: the engine fails with `why`, the endpoint disconnects.
  void Lose(Status why);
  // A failed completion: a flush is remembered (see Drive), anything else is Lose().
  void Fail(const rdma::Event& e);
  // Starts the endpoint's orderly disconnect once; Send() fails from here on.
  void BeginDisconnect();
  // Moves the engine's reassembled messages into pooled buffers for the handler.
  void TakeMessages(std::vector<Buffer>& out);

  const std::string peer_;
  const SmbDirectOptions options_;
  const std::shared_ptr<BufferPool> pool_;
  TransportHandler* handler_ = nullptr;
  std::thread thread_;
  std::atomic<bool> close_requested_{false};
  int wake_fd_ = -1;
  size_t max_message_size_ = 0;

  std::mutex endpoint_mu_;
  std::condition_variable send_cv_;  // Send() waiting for the queue to drain
  std::unique_ptr<rdma::Endpoint> endpoint_;
  smbd::Connection engine_;
  std::vector<uint8_t> recv_slab_;
  std::vector<uint8_t> send_slab_;
  std::unique_ptr<rdma::MemoryRegion> recv_mr_;
  std::unique_ptr<rdma::MemoryRegion> send_mr_;
  uint32_t recv_size_ = 0;
  uint32_t send_size_ = 0;
  uint32_t recv_count_ = 0;
  uint32_t send_count_ = 0;
  std::vector<uint32_t> free_recv_;
  std::vector<uint32_t> free_send_;
  std::vector<uint8_t> gather_;                 // Send()'s scratch for multi-part messages
  std::shared_ptr<rdma::DataChannel> channel_;  // nullptr: READ/WRITE data inline
  bool closed_ = false;                         // Send() refuses
  bool disconnecting_ = false;                  // Disconnect() was called
  bool endpoint_gone_ = false;                  // Event::kDisconnected arrived
  bool flushed_ = false;                        // a work request completed as flushed
  smbd::Timestamp teardown_deadline_{};
  uint64_t send_buffer_stalls_ = 0;
  uint64_t send_waits_ = 0;
};

}  // namespace smb3::transport

// ballast-vsim: the Verilator harness that plays PCIe for the risk-kernel RTL.
//
//   ballast-vsim --shm PATH [--trace FILE.fst] [--max-cycles N] [--seed N]
//                [--reset-cycles N] [--idle-cycles N] [--axil-timeout-cycles N]
//
// It maps the shared-memory file the Go backend (accel/vsim) created
// (docs/accel.md §6), resets ballast_top and runs its clock. Every cycle it
//   1. serves the MMIO mailbox as AXI4-Lite transactions on the BAR0 slave
//      port (mailbox.h);
//   2. plays host memory for the DMA master (axi_mem.h);
//   3. counts rising edges of irq_o into the header's irq_count.
// Every half millisecond of wall time (the clock is read every 256 cycles)
// it advances heartbeat, publishes cycles, and exits when the host wrote
// `stop`, on SIGTERM/SIGINT, or when its parent process is gone
// (PR_SET_PDEATHSIG plus a getppid() check).
//
// Idle policy: after --idle-cycles cycles (default 10,000) with no mailbox
// transaction, no DMA request on the wires and no burst outstanding, the
// harness reads the device's STATUS register itself (CTRL block, offset
// 0x010C, docs/accel.md §2). If STATUS says IDLE and not BUSY it stops
// clocking and polls the mailbox with nanosleep (10 µs, doubling up to
// 800 µs), still heartbeating, until the host posts a request; simulated time
// does not advance while it sleeps. A device whose STATUS read fails is
// treated as idle once the bus has been quiet that long. --idle-cycles 0
// never sleeps.
//
// Exit codes: 0 stopped (stop flag, signal, --max-cycles), 1 usage, 2 bad
// shared-memory file, 3 simulation failure (AXI4-Lite transaction time-out,
// $finish/$fatal in the RTL), 4 parent process gone. The header's state is 2
// (stopped) or 3 (failed) at exit, except for a refused file, which is left
// untouched.
#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "Vballast_top.h"
#include "verilated.h"
#ifdef VSIM_TRACE
#include "verilated_fst_c.h"
#endif

#include "axi_mem.h"
#include "mailbox.h"
#include "shm.h"

namespace {

constexpr const char* kVersionLine = "ballast-vsim 1.0 shm-v1";
#ifdef VSIM_TRACE
constexpr bool kTraceBuilt = true;
#else
constexpr bool kTraceBuilt = false;
#endif

// STATUS register (docs/accel.md §2, block CTRL at 0x0100, +0x0C) and its bits.
constexpr uint16_t kStatusOff = 0x010C;
constexpr uint32_t kStatusIdle = 1u << 0;
constexpr uint32_t kStatusBusy = 1u << 1;

constexpr uint64_t kHousekeepCycles = 256;  // cycles between clock reads
// Heartbeat period: half the 1 ms the contract promises, so that a beat
// lands within every millisecond whether clocking or asleep.
constexpr uint64_t kHeartbeatNs = 500000;
// Mailbox poll period while asleep: from 10 µs doubling up to 800 µs, so a
// request soon after the device went idle is answered quickly and a long
// idle spell costs about a thousand wake-ups a second (~1% of a core).
constexpr long kIdleSleepMinNs = 10000;
constexpr long kIdleSleepMaxNs = 800000;

volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_parent_signal = 0;

void OnSignal(int sig) { g_signal = sig; }
void OnParentDeath(int) { g_parent_signal = 1; }

uint64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

struct Options {
  std::string shm;
  std::string trace;
  uint64_t max_cycles = 0;
  uint64_t seed = 1;
  uint64_t reset_cycles = 16;
  uint64_t idle_cycles = 10000;
  uint64_t axil_timeout_cycles = 1000000;
};

void Usage(FILE* f) {
  std::fprintf(f,
               "usage: ballast-vsim --shm PATH [--trace FILE.fst] [--max-cycles N] [--seed N]\n"
               "                    [--reset-cycles N] [--idle-cycles N] [--axil-timeout-cycles N]\n"
               "       ballast-vsim --version | --help\n"
               "  --shm PATH                 shared-memory file created by accel/vsim (docs/accel.md §6)\n"
               "  --trace FILE.fst           write an FST waveform (tracing builds only: make vsim-trace)\n"
               "  --max-cycles N             stop after N clock cycles (0: no limit)\n"
               "  --seed N                   seed of the DMA back-pressure PRNG (default 1)\n"
               "  --reset-cycles N           cycles rst_ni is held low (default 16, at least 1)\n"
               "  --idle-cycles N            quiet cycles before sleeping (default 10000, 0: never)\n"
               "  --axil-timeout-cycles N    fail when a BAR access takes longer (default 1000000)\n");
}

bool ParseU64(const char* s, uint64_t* out) {
  if (s == nullptr || *s == '\0') return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 0);
  if (errno != 0 || *end != '\0' || s[0] == '-') return false;
  *out = v;
  return true;
}

// ParseArgs returns -1 to go on, else an exit code.
int ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string val;
    bool has_val = false;
    const size_t eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      val = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_val = true;
    }
    if (a == "--help" || a == "-h") {
      Usage(stdout);
      return 0;
    }
    if (a == "--version") {
      std::printf("%s trace=%s verilator=%s\n", kVersionLine, kTraceBuilt ? "on" : "off",
                  Verilated::productVersion());
      return 0;
    }
    const bool known = a == "--shm" || a == "--trace" || a == "--max-cycles" || a == "--seed" ||
                       a == "--reset-cycles" || a == "--idle-cycles" ||
                       a == "--axil-timeout-cycles";
    if (!known) {
      std::fprintf(stderr, "ballast-vsim: unknown argument %s\n", argv[i]);
      Usage(stderr);
      return 1;
    }
    if (!has_val) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ballast-vsim: %s needs a value\n", a.c_str());
        return 1;
      }
      val = argv[++i];
    }
    bool ok = true;
    if (a == "--shm") {
      o->shm = val;
      ok = !val.empty();
    } else if (a == "--trace") {
      o->trace = val;
      ok = !val.empty();
    } else if (a == "--max-cycles") {
      ok = ParseU64(val.c_str(), &o->max_cycles);
    } else if (a == "--seed") {
      ok = ParseU64(val.c_str(), &o->seed);
    } else if (a == "--reset-cycles") {
      ok = ParseU64(val.c_str(), &o->reset_cycles) && o->reset_cycles >= 1 &&
           o->reset_cycles <= 1000000;
    } else if (a == "--idle-cycles") {
      ok = ParseU64(val.c_str(), &o->idle_cycles);
    } else if (a == "--axil-timeout-cycles") {
      ok = ParseU64(val.c_str(), &o->axil_timeout_cycles) && o->axil_timeout_cycles >= 16;
    }
    if (!ok) {
      std::fprintf(stderr, "ballast-vsim: bad value %s for %s\n", val.c_str(), a.c_str());
      return 1;
    }
  }
  if (o->shm.empty()) {
    std::fprintf(stderr, "ballast-vsim: --shm PATH is required\n");
    Usage(stderr);
    return 1;
  }
  if (!o->trace.empty() && !kTraceBuilt) {
    std::fprintf(stderr,
                 "ballast-vsim: --trace needs a tracing build (make -C hdl vsim-trace builds "
                 "hdl/build/ballast-vsim-trace)\n");
    return 1;
  }
  return -1;
}

class Harness {
 public:
  Harness(const Options& opt, vsim::ShmFile* shm, pid_t ppid)
      : opt_(opt),
        shm_(shm),
        hdr_(shm->header()),
        ppid_(ppid),
        mbox_(shm->bar()),
        mem_(shm->mem(), shm->hdr().mem_size, shm->hdr().mem_iova, shm->hdr().mem_latency_cycles,
             shm->hdr().mem_stall_permille, opt.seed) {}

  int Run();

 private:
  void Apply();
  void Sample();
  void Tick();
  void Housekeep(uint64_t now);
  void IdleSleep();
  void Finish(uint32_t state, int code, const char* why);

  Options opt_;
  vsim::ShmFile* shm_;
  uint8_t* hdr_;
  pid_t ppid_;
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vballast_top> top_;
#ifdef VSIM_TRACE
  std::unique_ptr<VerilatedFstC> tfp_;
#endif
  vsim::Mailbox mbox_;
  vsim::AxiMemory mem_;
  vsim::LiteMasterOut lm_;
  vsim::LiteSlaveOut ls_;
  vsim::AxiMasterOut am_;
  vsim::AxiSlaveOut as_;
  uint64_t cycle_ = 0;
  uint64_t heartbeat_ = 0;
  uint64_t last_hb_ns_ = 0;
  uint64_t start_ns_ = 0;
  uint32_t irq_count_ = 0;
  bool irq_q_ = false;
  uint64_t idle_ = 0;
  bool probing_ = false;
  bool quiet_during_probe_ = false;
  bool probe_unsupported_ = false;
  uint64_t sleeps_ = 0;
  uint64_t sleep_ns_ = 0;
  uint64_t sleep_start_ns_ = 0;  // non-zero while asleep
  bool done_ = false;
  int exit_code_ = 0;
};

void Harness::Apply() {
  Vballast_top& t = *top_;
  t.s_axil_awaddr_i = lm_.awaddr;
  t.s_axil_awvalid_i = lm_.awvalid;
  t.s_axil_wdata_i = lm_.wdata;
  t.s_axil_wstrb_i = lm_.wstrb;
  t.s_axil_wvalid_i = lm_.wvalid;
  t.s_axil_bready_i = lm_.bready;
  t.s_axil_araddr_i = lm_.araddr;
  t.s_axil_arvalid_i = lm_.arvalid;
  t.s_axil_rready_i = lm_.rready;

  t.m_axi_awready_i = as_.awready;
  t.m_axi_wready_i = as_.wready;
  t.m_axi_bid_i = as_.bid;
  t.m_axi_bresp_i = as_.bresp;
  t.m_axi_bvalid_i = as_.bvalid;
  t.m_axi_arready_i = as_.arready;
  t.m_axi_rid_i = as_.rid;
  t.m_axi_rdata_i = as_.rdata;
  t.m_axi_rresp_i = as_.rresp;
  t.m_axi_rlast_i = as_.rlast;
  t.m_axi_rvalid_i = as_.rvalid;
}

void Harness::Sample() {
  const Vballast_top& t = *top_;
  ls_.awready = t.s_axil_awready_o;
  ls_.wready = t.s_axil_wready_o;
  ls_.bresp = t.s_axil_bresp_o;
  ls_.bvalid = t.s_axil_bvalid_o;
  ls_.arready = t.s_axil_arready_o;
  ls_.rdata = t.s_axil_rdata_o;
  ls_.rresp = t.s_axil_rresp_o;
  ls_.rvalid = t.s_axil_rvalid_o;

  am_.awid = t.m_axi_awid_o;
  am_.awaddr = t.m_axi_awaddr_o;
  am_.awlen = t.m_axi_awlen_o;
  am_.awsize = t.m_axi_awsize_o;
  am_.awburst = t.m_axi_awburst_o;
  am_.awvalid = t.m_axi_awvalid_o;
  am_.wdata = t.m_axi_wdata_o;
  am_.wstrb = t.m_axi_wstrb_o;
  am_.wlast = t.m_axi_wlast_o;
  am_.wvalid = t.m_axi_wvalid_o;
  am_.bready = t.m_axi_bready_o;
  am_.arid = t.m_axi_arid_o;
  am_.araddr = t.m_axi_araddr_o;
  am_.arlen = t.m_axi_arlen_o;
  am_.arsize = t.m_axi_arsize_o;
  am_.arburst = t.m_axi_arburst_o;
  am_.arvalid = t.m_axi_arvalid_o;
  am_.rready = t.m_axi_rready_o;
}

// Tick runs one clock cycle with the inputs already in lm_/as_: settle the
// combinational logic with clk low, sample what the rising edge will see, then
// raise the clock.
void Harness::Tick() {
  Apply();
  top_->clk_i = 0;
  top_->eval();
#ifdef VSIM_TRACE
  if (tfp_) tfp_->dump(2 * cycle_);
#endif
  Sample();
  top_->clk_i = 1;
  top_->eval();
#ifdef VSIM_TRACE
  if (tfp_) tfp_->dump(2 * cycle_ + 1);
#endif
}

void Harness::Finish(uint32_t state, int code, const char* why) {
  if (done_) return;
  done_ = true;
  exit_code_ = code;
  vsim::store64_rel(hdr_, vsim::kOffCycles, cycle_);
  vsim::store32_rel(hdr_, vsim::kOffState, state);
  if (sleep_start_ns_ != 0) {
    sleep_ns_ += MonoNs() - sleep_start_ns_;
    sleep_start_ns_ = 0;
  }
  const double wall = double(MonoNs() - start_ns_) / 1e9;
  const vsim::MailboxStats& ms = mbox_.stats();
  const vsim::AxiMemStats& ds = mem_.stats();
  std::fprintf(stderr,
               "ballast-vsim: exit %d (%s): %" PRIu64 " cycles in %.3f s (%.0f cycles/s), "
               "mailbox %" PRIu64 " reads %" PRIu64 " writes %" PRIu64
               " rejected, DMA %" PRIu64 " read beats %" PRIu64 " write beats (%" PRIu64
               " DECERR %" PRIu64 " SLVERR), %u irqs, %" PRIu64 " idle sleeps (%.3f s)\n",
               code, why, cycle_, wall, wall > 0 ? double(cycle_) / wall : 0.0, ms.reads, ms.writes,
               ms.rejected, ds.read_beats, ds.write_beats, ds.decerr_beats, ds.slverr_beats,
               irq_count_, sleeps_, double(sleep_ns_) / 1e9);
}

void Harness::Housekeep(uint64_t now) {
  if (now - last_hb_ns_ >= kHeartbeatNs || g_parent_signal != 0 || g_signal != 0) {
    last_hb_ns_ = now;
    vsim::store64_rel(hdr_, vsim::kOffCycles, cycle_);
    vsim::store64_rel(hdr_, vsim::kOffHeartbeat, ++heartbeat_);
    if (vsim::load32_acq(hdr_, vsim::kOffStop) != 0) {
      Finish(vsim::kStateStopped, 0, "stop requested");
    } else if (g_signal != 0) {
      Finish(vsim::kStateStopped, 0, g_signal == SIGINT ? "SIGINT" : "SIGTERM");
    } else if (getppid() != ppid_) {
      Finish(vsim::kStateStopped, 4, "parent process exited");
    }
    g_parent_signal = 0;
  }
  if (ctx_->gotFinish()) {
    Finish(vsim::kStateFailed, 3, "the RTL called $finish/$fatal");
  }
  if (mbox_.InFlightCycles() > opt_.axil_timeout_cycles) {
    std::fprintf(stderr,
                 "ballast-vsim: AXI4-Lite %s of BAR offset %#x not answered in %" PRIu64
                 " cycles\n",
                 mbox_.CurrentIsWrite() ? "write" : "read", mbox_.CurrentOffset(),
                 opt_.axil_timeout_cycles);
    Finish(vsim::kStateFailed, 3, "BAR access time-out");
  }
}

void Harness::IdleSleep() {
  ++sleeps_;
  sleep_start_ns_ = MonoNs();
  long step = kIdleSleepMinNs;
  while (!done_ && !mbox_.Pending()) {
    const timespec ts{0, step};
    nanosleep(&ts, nullptr);
    step = std::min(2 * step, kIdleSleepMaxNs);
    Housekeep(MonoNs());
  }
  if (sleep_start_ns_ != 0) sleep_ns_ += MonoNs() - sleep_start_ns_;
  sleep_start_ns_ = 0;
  idle_ = 0;
}

int Harness::Run() {
  ctx_ = std::make_unique<VerilatedContext>();
  ctx_->fatalOnError(false);  // $fatal ends the run through gotFinish, reported as a failure
#ifdef VSIM_TRACE
  if (!opt_.trace.empty()) ctx_->traceEverOn(true);
#endif
  top_ = std::make_unique<Vballast_top>(ctx_.get(), "ballast_top");
#ifdef VSIM_TRACE
  if (!opt_.trace.empty()) {
    tfp_ = std::make_unique<VerilatedFstC>();
    top_->trace(tfp_.get(), 99);
    tfp_->open(opt_.trace.c_str());
  }
#endif
  start_ns_ = MonoNs();
  last_hb_ns_ = start_ns_;

  // Reset: every handshake input low, rst_ni low for reset_cycles.
  top_->rst_ni = 0;
  for (uint64_t i = 0; i < opt_.reset_cycles; ++i) {
    Tick();
    ++cycle_;
  }
  top_->rst_ni = 1;
  vsim::store64_rel(hdr_, vsim::kOffCycles, cycle_);
  vsim::store32_rel(hdr_, vsim::kOffState, vsim::kStateRunning);

  const vsim::Header& h = shm_->hdr();
  std::fprintf(stderr,
               "ballast-vsim: pid %d running: shm %s, host memory %" PRIu64 " MiB at IOVA %#" PRIx64
               ", DMA latency %u cycles, stall %u permille, seed %" PRIu64 ", trace %s\n",
               int(getpid()), opt_.shm.c_str(), h.mem_size >> 20, h.mem_iova,
               h.mem_latency_cycles, h.mem_stall_permille, opt_.seed,
               opt_.trace.empty() ? "off" : opt_.trace.c_str());

  while (!done_) {
    mbox_.Drive(&lm_);
    mem_.Drive(cycle_, &as_);
    Tick();
    mbox_.Edge(lm_, ls_);
    mem_.Edge(cycle_, am_, as_);
    const bool irq = top_->irq_o;
    if (irq && !irq_q_) vsim::store32_rel(hdr_, vsim::kOffIrqCount, ++irq_count_);
    irq_q_ = irq;
    ++cycle_;

    // Idle accounting (see the policy at the top of the file).
    if (opt_.idle_cycles != 0) {
      const bool dma = mem_.Busy() || am_.arvalid || am_.awvalid || am_.wvalid;
      if (probing_) {
        quiet_during_probe_ = quiet_during_probe_ && !dma;
        uint32_t v;
        uint8_t r;
        if (mbox_.ProbeDone(&v, &r)) {
          probing_ = false;
          if (r != vsim::kRespOkay && !probe_unsupported_) {
            probe_unsupported_ = true;
            std::fprintf(stderr,
                         "ballast-vsim: STATUS (BAR %#x) read answered %u; idle sleeping falls "
                         "back to bus quiet only\n",
                         unsigned(kStatusOff), unsigned(r));
          }
          const bool dev_idle =
              r != vsim::kRespOkay || ((v & kStatusIdle) != 0 && (v & kStatusBusy) == 0);
          if (quiet_during_probe_ && dev_idle && !mbox_.Pending()) {
            IdleSleep();
          } else {
            idle_ = 0;
          }
        }
      } else if (dma || !mbox_.Idle()) {
        idle_ = 0;
      } else if (++idle_ >= opt_.idle_cycles && !mbox_.Pending()) {
        if (probe_unsupported_) {
          IdleSleep();
        } else {
          mbox_.StartProbe(kStatusOff);
          probing_ = true;
          quiet_during_probe_ = true;
        }
      }
    }

    if (opt_.max_cycles != 0 && cycle_ >= opt_.max_cycles) {
      Finish(vsim::kStateStopped, 0, "--max-cycles reached");
    }
    if (cycle_ % kHousekeepCycles == 0) Housekeep(MonoNs());
  }
#ifdef VSIM_TRACE
  if (tfp_) tfp_->close();
#endif
  top_->final();
  return exit_code_;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  const int rc = ParseArgs(argc, argv, &opt);
  if (rc >= 0) return rc;

  const pid_t ppid = getppid();
  // The parent-death signal only sets a flag: it fires when the forking
  // *thread* exits, which in a Go parent need not mean the process is gone;
  // Housekeep confirms with getppid() before exiting.
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = OnParentDeath;
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  prctl(PR_SET_PDEATHSIG, SIGUSR1);
  if (getppid() != ppid) {
    std::fprintf(stderr, "ballast-vsim: parent process already gone\n");
    return 4;
  }

  vsim::ShmFile shm;
  const std::string err = shm.Open(opt.shm);
  if (!err.empty()) {
    std::fprintf(stderr, "ballast-vsim: refusing shared-memory file %s: %s\n", opt.shm.c_str(),
                 err.c_str());
    return 2;
  }
  uint8_t* hdr = shm.header();
  vsim::store32_rel(hdr, vsim::kOffSimPid, uint32_t(getpid()));
  vsim::store32_rel(hdr, vsim::kOffState, vsim::kStateStarting);

  Harness h(opt, &shm, ppid);
  return h.Run();
}

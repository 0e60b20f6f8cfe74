-- POST /v1/score: the same ~500-byte form body on every request.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
wrk.body = '{"email":"jane.doe@acme-robotics.com","first_name":"Jane","last_name":"Doe","phone":"+1 415 555 0134",' ..
  '"company":"Acme Robotics","title":"VP of Engineering","industry":"manufacturing","company_size":"201-500",' ..
  '"country":"US","region":"na","language":"en","source":"webinar","utm_source":"google",' ..
  '"utm_medium":"cpc","utm_campaign":"q3-launch","budget":"approved","authority":"decision_maker",' ..
  '"need":"urgent","timeline":"this_quarter","consent":true}'
